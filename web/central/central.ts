/**
 * The supervisor view in the browser: one page over the central's JSON API (agent/central/
 * view.ts). Boxes, classes with their verdicts, check-ins, and the live inspection and
 * playback requests; live video through hls.js (Chromium plays no HLS natively), playback of
 * the verified clip straight from the central (MP4 with byte ranges). Plain DOM, no framework,
 * compiled by tsc and shipped in the package; hls.js comes from its npm package (/hls.js).
 */

/** The part of hls.js (window.Hls, its UMD build) this page uses. */
interface HlsInstance {
  loadSource(url: string): void;
  attachMedia(v: HTMLMediaElement): void;
  on(event: string, cb: (ev: string, data: { fatal?: boolean; details?: string; type?: string }) => void): void;
  destroy(): void;
}
interface HlsStatic {
  new (config?: Record<string, unknown>): HlsInstance;
  isSupported(): boolean;
  Events: { ERROR: string; MANIFEST_PARSED: string };
}
const Hls = (window as unknown as { Hls: HlsStatic }).Hls;

interface Box { box: string; state: string | null; statusReceivedMs: number | null; agentVersion: string | null; contract: string | null; backlog: number | null; records: number; lastBatchMs: number | null }
interface Rec { box: string; type: string; at: number; data: Record<string, unknown> }
interface Req {
  id: string; kind: 'live' | 'clip'; box: string; camera: string; from: number | null; to: number | null; playUrl: string | null; supervisor: string; created: number;
  states: Array<{ state: string; ok: boolean; message: string | null; at: number }>;
  clip?: { verified: boolean; problems: string[] };
}
interface Overview { me: string; now: number; boxes: Box[]; classes: Rec[]; checkins: Rec[]; requests: Req[]; cameras: Array<{ box: string; camera: string; recordedUntil: number }> }

const app = document.getElementById('app')!;
const meEl = document.getElementById('me')!;
// state exposed for the browser test and for anyone debugging
interface LiveState {
  id: string;
  playing: boolean;
  error: string | null;
  /** ms since the click: the central answered, the playlist listed a fragment, the video played */
  answeredMs?: number;
  playlistMs?: number;
  playingMs?: number;
}
const w = window as unknown as { __central: { live?: LiveState; clip?: { id: string; error: string | null } } };
w.__central = {};

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const L = (zh: string, en: string) => `${esc(zh)}<span class="en">${esc(en)}</span>`;
/** times as the province reads them: Beijing time */
const time = (ms: number | null) => (ms ? new Date(ms).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false }) : '—');
/** the boxes answer "中文 / English" or "English / 中文": Chinese first */
const zhFirst = (m: string) => m.replace(/^(.*?) \/ (.*[\u4e00-\u9fff].*)$/s, '$2 / $1');

class HttpError extends Error {
  constructor(readonly status: number, msg: string) {
    super(msg);
  }
}

async function api<T>(p: string, body?: unknown): Promise<T> {
  const r = await fetch(p, body === undefined ? { credentials: 'same-origin' } : { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const out = await r.json().catch(() => ({}));
  if (!r.ok) throw new HttpError(r.status, (out as { error?: string }).error ?? `HTTP ${r.status}`);
  return out as T;
}

function loginPage(msg = '') {
  meEl.textContent = '';
  app.innerHTML = `<div class="card"><h2>${L('监管人员登录', 'Supervisor login')}</h2><form id="login"><label>${L('用户名', 'User')}<input name="user" autocomplete="username" required></label>
  <label>${L('密码', 'Password')}<input name="password" type="password" autocomplete="current-password" required></label><button>${L('登录', 'Log in')}</button><div id="msg">${msg}</div></form></div>`;
  document.getElementById('login')!.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target as HTMLFormElement);
    try {
      await api('/api/login', { user: f.get('user'), password: f.get('password') });
      void mainPage();
    } catch (e) {
      document.getElementById('msg')!.innerHTML = `<div class="err">${esc(zhFirst((e as Error).message))}</div>`;
    }
  });
}

const STATE: Record<string, [string, string]> = {
  requested: ['已请求', 'requested'],
  pushing: ['推流中', 'pushing'],
  ended: ['已结束', 'ended'],
  refused: ['被拒绝', 'refused'],
  exporting: ['导出中', 'exporting'],
  uploading: ['上传中', 'uploading'],
  uploaded: ['已上传', 'uploaded'],
  failed: ['失败', 'failed'],
};

function requestState(r: Req): string {
  const last = r.states.at(-1);
  let s = last ? L(...(STATE[last.state] ?? [last.state, last.state])) : L('等待盒子回复', 'waiting for the box');
  if (r.clip) s += r.clip.verified ? ` · <span class="ok">${L('已校验', 'verified')}</span>` : ` · <span class="bad">${L('校验失败', 'verification failed')}</span> ${esc(r.clip.problems.join('; '))}`;
  if (last?.message && (last.state === 'refused' || last.state === 'failed' || last.state === 'ended')) s += ` <span class="muted">${esc(zhFirst(last.message))}</span>`;
  return s;
}

let data: Overview | undefined;
let poll: number | undefined;

function tables(d: Overview): string {
  const boxes = d.boxes
    .map(
      (b) => `<tr data-box="${esc(b.box)}"><td>${esc(b.box)}</td><td class="${b.state === 'online' ? 'ok' : 'bad'}">${b.state === 'online' ? L('在线', 'online') : b.state ? L('离线', 'offline') : L('未知', 'unknown')}</td>
      <td>${time(b.statusReceivedMs)}</td><td>${b.backlog ?? '—'}</td><td>${b.records}</td><td>${time(b.lastBatchMs)}</td><td>${esc(b.agentVersion ?? '')} ${esc(b.contract ?? '')}</td></tr>`,
    )
    .join('');
  const classes = d.classes
    .map((c) => {
      const v = c.data as { classId: string; profile: string; eligible: boolean; violations: Array<{ messageZh: string; message: string }> };
      return `<tr><td>${esc(c.box)}</td><td>${esc(v.classId)}</td><td class="${v.eligible ? 'ok' : 'bad'}">${v.eligible ? L('合规', 'compliant') : L('不合规', 'not compliant')}</td>
      <td>${v.violations.length}</td><td>${v.violations
        .slice(0, 3)
        .map((f) => `${esc(f.messageZh)}<span class="en">${esc(f.message)}</span>`)
        .join('<br>')}</td><td>${time(c.at)}</td></tr>`;
    })
    .join('');
  const checkins = d.checkins
    .map((c) => {
      const x = c.data as { terminal?: string; person?: string; trainee?: string; classId?: string; at?: number };
      return `<tr><td>${time(x.at ?? c.at)}</td><td>${esc(c.box)}</td><td>${esc(x.terminal)}</td><td>${esc(x.person)}</td><td>${esc(x.trainee ?? '—')}</td><td>${esc(x.classId ?? '—')}</td></tr>`;
    })
    .join('');
  const reqs = d.requests
    .map(
      (r) => `<tr data-request="${esc(r.id)}"><td>${r.kind === 'live' ? L('实时巡检', 'live') : L('回放', 'playback')}</td><td>${esc(r.box)} / ${esc(r.camera)}</td>
      <td>${r.kind === 'clip' ? `${time(r.from)} – ${time(r.to)}` : ''}</td><td>${esc(r.supervisor)} ${time(r.created)}</td><td class="state">${requestState(r)}</td></tr>`,
    )
    .join('');
  return `<div class="card"><h2>${L('盒子', 'Boxes')}</h2><table id="boxes"><tr><th>${L('盒子', 'Box')}</th><th>${L('状态', 'State')}</th><th>${L('状态时间', 'Status at')}</th><th>${L('待发', 'Backlog')}</th><th>${L('记录', 'Records')}</th><th>${L('最近上传', 'Last batch')}</th><th>${L('版本', 'Version')}</th></tr>${boxes}</table></div>
  <div class="card"><h2>${L('巡检与回放请求', 'Inspection and playback requests')}</h2><table id="requests"><tr><th>${L('类型', 'Kind')}</th><th>${L('盒子 / 摄像机', 'Box / camera')}</th><th>${L('时段', 'Range')}</th><th>${L('请求人', 'Asked by')}</th><th>${L('进展', 'State')}</th></tr>${reqs}</table></div>
  <div class="card"><h2>${L('班级与判定', 'Classes and verdicts')}</h2><table id="classes"><tr><th>${L('盒子', 'Box')}</th><th>${L('班级', 'Class')}</th><th>${L('判定', 'Verdict')}</th><th>${L('违规数', 'Violations')}</th><th>${L('违规', 'Findings')}</th><th>${L('时间', 'At')}</th></tr>${classes}</table></div>
  <div class="card"><h2>${L('签到', 'Check-ins')}</h2><table id="checkins"><tr><th>${L('时间', 'At')}</th><th>${L('盒子', 'Box')}</th><th>${L('终端', 'Terminal')}</th><th>${L('人员', 'Person')}</th><th>${L('学员', 'Trainee')}</th><th>${L('班级', 'Class')}</th></tr>${checkins}</table></div>`;
}

function cameraOptions(d: Overview): string {
  return d.cameras.map((c) => `<option value="${esc(`${c.box}\n${c.camera}`)}" data-until="${c.recordedUntil}">${esc(c.box)} / ${esc(c.camera)}</option>`).join('');
}

/** datetime-local value in Beijing time (the province's) for a UTC ms, and back */
const BJ = 8 * 3_600_000;
const toLocalInput = (ms: number) => new Date(ms + BJ).toISOString().slice(0, 19);
const fromLocalInput = (v: string) => Date.parse(`${v}${v.length === 16 ? ':00' : ''}Z`) - BJ;

async function mainPage() {
  try {
    data = await api<Overview>('/api/overview');
  } catch (e) {
    if (e instanceof HttpError && e.status === 401) return loginPage();
    app.innerHTML = `<div class="err" id="error">${esc(zhFirst((e as Error).message))}</div>`;
    return;
  }
  meEl.innerHTML = `${esc(data.me)} · <a href="#" id="logout" style="color:#fff">${L('退出', 'Log out')}</a>`;
  document.getElementById('logout')!.addEventListener('click', async (ev) => {
    ev.preventDefault();
    await api('/api/logout', {}).catch(() => undefined);
    clearInterval(poll);
    loginPage();
  });
  app.innerHTML = `<div class="row"><div class="card"><h2>${L('远程实时巡检', 'Live inspection')}</h2>
    <form id="live-form" class="inline"><label>${L('摄像机', 'Camera')}<select name="cam">${cameraOptions(data)}</select></label><button>${L('开始巡检', 'Watch live')}</button><button type="button" id="live-stop">${L('停止', 'Stop')}</button></form>
    <div id="live-msg" class="muted"></div><video id="live" muted playsinline controls></video></div>
    <div class="card"><h2>${L('视频回放', 'Playback')}</h2>
    <form id="clip-form" class="inline"><label>${L('摄像机', 'Camera')}<select name="cam">${cameraOptions(data)}</select></label>
    <label>${L('开始（北京时间）', 'From (Beijing time)')}<input name="from" type="datetime-local" step="1"></label><label>${L('时长（分钟）', 'Minutes')}<input name="minutes" type="number" min="1" max="60" value="3" style="width:5rem"></label>
    <button>${L('请求回放', 'Ask for playback')}</button></form><div id="clip-msg" class="muted"></div><video id="clip" muted playsinline controls></video></div></div>
    <div id="tables">${tables(data)}</div>`;
  const clipForm = document.getElementById('clip-form') as HTMLFormElement;
  const setDefaultFrom = () => {
    const opt = (clipForm.elements.namedItem('cam') as HTMLSelectElement).selectedOptions[0];
    const until = Number(opt?.dataset.until ?? Date.now());
    (clipForm.elements.namedItem('from') as HTMLInputElement).value = toLocalInput(until - 3 * 60_000);
  };
  setDefaultFrom();
  (clipForm.elements.namedItem('cam') as HTMLSelectElement).addEventListener('change', setDefaultFrom);
  document.getElementById('live-form')!.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void startLive(new FormData(ev.target as HTMLFormElement).get('cam') as string);
  });
  document.getElementById('live-stop')!.addEventListener('click', () => {
    if (w.__central.live) void api(`/api/live/${w.__central.live.id}/stop`, {}).catch(() => undefined);
    stopPlayer();
  });
  clipForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = new FormData(clipForm);
    const from = fromLocalInput(String(f.get('from')));
    void askClip(String(f.get('cam')), from, from + Number(f.get('minutes')) * 60_000);
  });
  clearInterval(poll);
  poll = window.setInterval(() => void refresh(), 1000);
}

async function refresh() {
  try {
    data = await api<Overview>('/api/overview');
  } catch (e) {
    if (e instanceof HttpError && e.status === 401) {
      clearInterval(poll);
      loginPage(L('会话已过期，请重新登录', 'session ended, log in again'));
    }
    return;
  }
  document.getElementById('tables')!.innerHTML = tables(data);
  const c = w.__central.clip;
  const r = c && data.requests.find((x) => x.id === c.id);
  const video = document.getElementById('clip') as HTMLVideoElement | null;
  if (r && video) {
    document.getElementById('clip-msg')!.innerHTML = requestState(r);
    if (r.clip?.verified && !video.src) {
      video.src = r.playUrl!;
      video.onerror = () => (c!.error = `media error ${video.error?.code}`);
      void video.play().catch((e: Error) => (c!.error = e.message));
    }
  }
  const l = w.__central.live;
  const lr = l && data.requests.find((x) => x.id === l.id);
  if (lr) document.getElementById('live-msg')!.innerHTML = requestState(lr);
}

let hls: HlsInstance | undefined;
let waitTimer: number | undefined;
function stopPlayer() {
  clearTimeout(waitTimer);
  hls?.destroy();
  hls = undefined;
}

/**
 * Ask for the camera and play it: the media server has the stream only once the box's push
 * has produced its first fragment, so the playlist is polled (cheap, from the media server)
 * and hls.js is attached as soon as it lists a segment.
 */
async function startLive(cam: string) {
  stopPlayer();
  const [box, camera] = cam.split('\n');
  const msg = document.getElementById('live-msg')!;
  const t0 = performance.now();
  const since = () => Math.round(performance.now() - t0);
  let r: { id: string; playUrl: string };
  try {
    r = await api('/api/live', { box, camera });
  } catch (e) {
    msg.innerHTML = `<div class="err">${esc(zhFirst((e as Error).message))}</div>`;
    return;
  }
  const state: LiveState = { id: r.id, playing: false, error: null, answeredMs: since() };
  w.__central.live = state;
  msg.innerHTML = L('已请求，等待盒子推流', 'asked; waiting for the box to push');
  const video = document.getElementById('live') as HTMLVideoElement;
  video.addEventListener(
    'playing',
    () => {
      state.playing = true;
      state.playingMs = since();
    },
    { once: true },
  );
  const tryPlaylist = async () => {
    if (w.__central.live !== state) return;
    const ok = await fetch(r.playUrl, { cache: 'no-store' })
      .then(async (x) => x.ok && /\.ts\b/.test(await x.text()))
      .catch(() => false);
    if (!ok) {
      waitTimer = window.setTimeout(() => void tryPlaylist(), 250);
      return;
    }
    state.playlistMs = since();
    if (!Hls.isSupported()) {
      state.error = 'this browser has no Media Source Extensions / 浏览器不支持 MSE';
      return;
    }
    // live edge one fragment back: the supervisor wants to see now, not 3 fragments ago
    hls = new Hls({ enableWorker: false, liveSyncDurationCount: 1});
    hls.on(Hls.Events.ERROR, (_e, d) => {
      if (d.fatal) state.error = `${d.type}: ${d.details}`;
    });
    hls.loadSource(r.playUrl);
    hls.attachMedia(video);
    void video.play().catch(() => undefined);
  };
  void tryPlaylist();
}

async function askClip(cam: string, from: number, to: number) {
  const [box, camera] = cam.split('\n');
  const msg = document.getElementById('clip-msg')!;
  const video = document.getElementById('clip') as HTMLVideoElement;
  video.removeAttribute('src');
  try {
    const r = await api<{ id: string }>('/api/clip', { box, camera, from, to });
    w.__central.clip = { id: r.id, error: null };
    msg.innerHTML = L('已请求，等待盒子上传', 'asked; waiting for the upload');
  } catch (e) {
    msg.innerHTML = `<div class="err">${esc(zhFirst((e as Error).message))}</div>`;
  }
}

void mainPage();
