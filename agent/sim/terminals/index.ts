/**
 * Simulated face terminals speaking the real wire formats over real sockets, for the demo and
 * the tests: ZKTeco PUSH (device client), Hikvision ISAPI (alertStream + AcsEvent server, push
 * client), Dahua (attach stream + recordFinder server) and a webhook client.
 */
export { ZkDevice, type ZkOptions, type ZkPunch } from './zkteco.js';
export { HikDevice, type HikEvent, type HikOptions } from './hikvision.js';
export { DahuaDevice, type DahuaRec } from './dahua.js';
export { WebhookClient, type WebhookItem } from './webhook.js';
export { request } from './httpc.js';
export { runTerminalDemo, type TerminalDemoOptions } from './demo.js';
