/** The sync module's public face for the composition root and the demo. */
export { SyncClient, type SyncState } from './client.js';
export { CentralReceiver, type ReceiverOptions } from '../central/receiver.js';
export { topics, CONTRACT_VERSION } from './contract.js';
