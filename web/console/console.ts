/**
 * The console in the browser: a hash router over the box's read-only JSON API, live view
 * (the recorder's fMP4 fragments over a WebSocket into Media Source Extensions) and playback
 * (segment files appended with a fresh init at each boundary; gaps skipped and shown).
 * Plain DOM, no framework: a handful of pages, compiled by tsc and shipped in the package.
 */
const app = document.getElementById('app')!;
const nav = document.getElementById('nav')!;

interface Me { user: string; role: string; can: string[]; now?: number }
let me: Me | undefined;
/** the box's clock minus this device's, measured when /api/me answers (phones' clocks drift) */
let skewMs = 0;
async function fetchMe(): Promise<Me> {
  const m = await api<Me>('/api/me');
  if (m.now) skewMs = m.now - Date.now();
  return m;
}
let cleanup: (() => void) | undefined;

// live/playback state exposed for the browser tests and for anyone debugging on a phone
interface LiveState { delayMs: number | null; fragments: number; error: string | null; unsupported?: string; codec?: string; source?: string }
const w = window as unknown as { __console: { live?: LiveState; play?: { error: string | null; loaded: number; skipped: string[]; codecs: string[]; unsupported: string[] }; today?: { updates: number } } };
w.__console = {};

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const L = (zh: string, en: string) => `${esc(zh)}<span class="en">${esc(en)}</span>`;
const two = (n: number) => String(n).padStart(2, '0');
const hhmm = (ms: number) => { const d = new Date(ms); return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`; };
const day = (ms: number) => { const d = new Date(ms); return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`; };
const mins = (ms: number) => `${Math.round(ms / 6000) / 10} min`;
const enc = encodeURIComponent;
/** A sighting's face crop, only when the school shows faces and this role may see them (/api/me's can). */
const face = (crop: number | null | undefined) => (crop && me?.can.includes('faces') ? `<img class="face" src="/api/face/${crop}" alt="face" width="64" height="64" loading="lazy">` : '');

class HttpError extends Error { constructor(readonly status: number, msg: string) { super(msg); } }

/** Counts navigations: an answer for a page the user has left must not draw over the next one. */
let navigation = 0;
class Stale extends Error {}

async function api<T>(p: string): Promise<T> {
  const asked = navigation;
  const r = await fetch(p, { credentials: 'same-origin' });
  if (r.status === 401) { location.hash = '#/login'; throw new HttpError(401, 'login'); }
  const body = await r.json().catch(() => ({}));
  if (asked !== navigation) throw new Stale('left');
  if (!r.ok) throw new HttpError(r.status, (body as { error?: string }).error ?? `HTTP ${r.status}`);
  return body as T;
}

function show(html: string) { app.innerHTML = html; }
/** The box answers "English / 中文"; the page puts the Chinese first. */
const zhFirst = (m: string) => m.replace(/^(.*?) \/ (.*[\u4e00-\u9fff].*)$/s, '$2 / $1');
function fail(e: unknown) { if (!(e instanceof Stale) && !(e instanceof HttpError && e.status === 401)) show(`<div class="err" id="error">${esc(zhFirst((e as Error).message))}</div>`); }

function drawNav() {
  const links: [string, string, string, string?][] = [['#/today', '今日', 'Today'], ['#/live', '实时', 'Live'], ['#/cameras', '摄像头', 'Cameras'], ['#/classes', '班次', 'Classes'], ['#/box', '本机', 'Box', 'box'], ['#/access', '访问记录', 'Access log', 'audit']];
  nav.innerHTML = `<b>课堂取证控制台<span class="en">Classroom console</span></b>` + (me
    ? links.filter(([, , , need]) => !need || me!.can.includes(need)).map(([h, zh, en]) => `<a href="${h}" class="${location.hash.startsWith(h) ? 'on' : ''}">${L(zh, en)}</a>`).join('') + `<a href="#/logout">${esc(me.user)} · ${L('退出', 'Log out')}</a>`
    : '');
}

function loginPage() {
  show(`<div class="card"><h2>${L('登录', 'Log in')}</h2><form id="login"><label>${L('用户名', 'User')}<input name="user" autocomplete="username" required></label>
  <label>${L('密码', 'Password')}<input name="password" type="password" autocomplete="current-password" required></label><button>${L('登录', 'Log in')}</button><div id="msg"></div></form></div>`);
  document.getElementById('login')!.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target as HTMLFormElement);
    const r = await fetch('/api/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ user: f.get('user'), password: f.get('password') }) });
    if (!r.ok) { document.getElementById('msg')!.innerHTML = `<p class="err">${esc(zhFirst(String(((await r.json().catch(() => ({}))) as { error?: string }).error ?? r.status)))}</p>`; return; }
    me = await fetchMe();
    location.hash = '#/today';
  });
}

const STATE: Record<string, [string, string, string]> = { ok: ['正常', 'ok', 'ok'], 'at-risk': ['有风险', 'at risk', 'warn'], lost: ['已不合格', 'lost', 'fail'] };
const REASON: Record<string, [string, string]> = {
  'camera-down': ['摄像头未录像', 'camera down'], 'continuous-unreachable': ['连续录像已不可能', 'continuous video unreachable'], 'recording-gap': ['录像缺失超限', 'recording gap over tolerance'],
  'recording-stopped': ['录像中断', 'recording stopped'], 'trainees-unseen': ['有学员未出镜', 'trainees not yet seen'],
};

interface TodayLesson { classId: string; lessonId: string; kind: string; start: number; end: number; phase: string; recordedMs: number; longestMs: number; seen: number; trainees: number; state: string; reasons: string[]; verdict: boolean | null }
const stateCell = (state: string, reasons: string[]) => {
  const st = STATE[state] ?? [state, state, ''];
  return `<span class="${st[2]}">${L(st[0], st[1])}</span>${reasons.map((r) => `<br><span class="badge">${L(REASON[r]?.[0] ?? r, REASON[r]?.[1] ?? r)}</span>`).join('')}`;
};

/**
 * Today's lessons, kept current without a reload: the box pushes each lesson's live state
 * (lesson.live, from the lesson monitor) and alarm changes over Server-Sent Events; a pushed
 * state is shown at once, the figures are fetched again shortly after.
 */
async function todayPage() {
  const pushed = new Map<string, { state: string; reasons: string[] }>();
  const st = (w.__console.today = { updates: 0 });
  const render = async () => {
    const d = await api<{ lessons: TodayLesson[]; alarms: Array<{ kind: string; subject: string; message: string; raised_ms: number }>; backlog: { count: number } }>('/api/today');
    if (!location.hash.startsWith('#/today') && location.hash !== '' && location.hash !== '#/') return;
    const rows = d.lessons.map((l) => {
      const key = `${l.classId}/${l.lessonId}`;
      const p = pushed.get(key) ?? l;
      return `<tr data-lesson="${esc(key)}"><td><a href="#/lesson/${enc(l.classId)}/${enc(l.lessonId)}">${esc(l.classId)} / ${esc(l.lessonId)}</a><br><span class="muted">${hhmm(l.start)}–${hhmm(l.end)} ${esc(l.kind)}</span></td>
      <td class="state" data-state="${esc(p.state)}">${stateCell(p.state, p.reasons)}</td>
      <td>${L('已录', 'recorded')} ${mins(l.recordedMs)}<br>${L('最长连续', 'longest')} ${mins(l.longestMs)}<br>${L('出镜', 'seen')} ${l.seen}/${l.trainees}</td>
      <td>${l.verdict === null ? '' : l.verdict ? `<span class="ok">${L('合格', 'ok')}</span>` : `<span class="fail">${L('违规', 'violation')}</span>`}</td></tr>`;
    }).join('');
    show(`<div class="card" id="today"><h2>${L('今日课时', "Today's lessons")}</h2>${d.lessons.length ? `<table>${rows}</table>` : `<p>${L('今天本教室没有课时', 'no lessons in this room today')}</p>`}</div>
  <div class="card" id="alarms"><h3>${L('未处理告警', 'Open alarms')} (${d.alarms.length})</h3>${d.alarms.map((a) => `<div class="warn">${hhmm(a.raised_ms)} ${esc(a.kind)} ${esc(a.subject)}: ${esc(a.message)}</div>`).join('')}
  <p>${L('待上报', 'Upload backlog')}: ${d.backlog.count}</p></div>`);
  };
  await render();
  let again: ReturnType<typeof setTimeout> | undefined;
  const soon = () => { clearTimeout(again); again = setTimeout(() => void render().catch(fail), 1000); };
  const es = new EventSource('/api/events');
  es.addEventListener('lesson.live', (ev) => {
    const e = JSON.parse((ev as MessageEvent).data) as { classId: string; lessonId: string; state: string; reasons: string[] };
    const key = `${e.classId}/${e.lessonId}`;
    pushed.set(key, { state: e.state, reasons: e.reasons });
    st.updates++;
    const cell = [...app.querySelectorAll<HTMLElement>('tr[data-lesson]')].find((r) => r.dataset.lesson === key)?.querySelector<HTMLElement>('td.state');
    if (cell) { cell.dataset.state = e.state; cell.innerHTML = stateCell(e.state, e.reasons); }
    soon();
  });
  for (const name of ['alarm.raised', 'alarm.cleared']) es.addEventListener(name, soon);
  // the figures (minutes recorded, trainees seen) move without events: refresh them now and then
  const t = setInterval(() => void render().catch(fail), 30_000);
  cleanup = () => { es.close(); clearInterval(t); clearTimeout(again); };
}

async function camerasPage() {
  const cams = await api<Array<{ id: string; name: string; lastSegmentEnd: number | null; openGap: { reason: string } | null }>>('/api/cameras');
  const now = Date.now();
  show(`<div class="card"><h2>${L('摄像头', 'Cameras')}</h2><table>${cams.map((c) => `<tr><td><b>${esc(c.name)}</b> <span class="muted">${esc(c.id)}</span><br>${c.openGap ? `<span class="fail">${L('未录像', 'not recording')}: ${esc(c.openGap.reason)}</span>` : `<span class="ok">${L('录像中', 'recording')}</span>`}</td>
    <td><a href="#/live/${enc(c.id)}">${L('实时画面', 'Live')}</a><br><a href="#/play/${enc(c.id)}?from=${now - 3_600_000}&to=${now}">${L('回放最近一小时', 'Play last hour')}</a></td></tr>`).join('')}</table></div>`);
}

// ---- live view ----
async function livePage(cam: string) {
  show(`<div class="card"><h2>${L('实时画面', 'Live')} · ${esc(cam)}</h2><video id="live" muted autoplay playsinline></video>
  <p id="live-status" class="muted">${L('连接中', 'connecting')}…</p></div>`);
  const st: LiveState = (w.__console.live = { delayMs: null, fragments: 0, error: null });
  cleanup = await mountLive(cam, document.getElementById('live') as HTMLVideoElement, document.getElementById('live-status')!, st);
}

/** Every camera live on one page: one WebSocket each, the box reads each camera's file once. */
async function liveAllPage() {
  const cams = await api<Array<{ id: string; name: string }>>('/api/cameras');
  show(`<div class="row">${cams.map((c, i) => `<div class="card"><h3>${esc(c.name)} <span class="muted">${esc(c.id)}</span></h3><video id="live-${i}" muted autoplay playsinline></video><p id="live-status-${i}" class="muted"></p><a href="#/live/${enc(c.id)}">${L('放大', 'Full view')}</a></div>`).join('')}</div>`);
  const stops = await Promise.all(cams.map((c, i) => mountLive(c.id, document.getElementById(`live-${i}`) as HTMLVideoElement, document.getElementById(`live-status-${i}`)!, { delayMs: null, fragments: 0, error: null })));
  cleanup = () => stops.forEach((f) => f());
}

async function mountLive(cam: string, video: HTMLVideoElement, status: HTMLElement, st: LiveState): Promise<() => void> {
  const ms = new MediaSource();
  video.src = URL.createObjectURL(ms);
  await new Promise((r) => ms.addEventListener('sourceopen', r, { once: true }));
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/live/${enc(cam)}`);
  ws.binaryType = 'arraybuffer';
  let header: { kind: string; codec?: string; source?: string; seconds?: number; readAt?: number } | undefined;
  let sb: SourceBuffer | undefined;
  const queue: Array<{ data: ArrayBuffer; wallStart?: number }> = [];
  const map: Array<{ t0: number; wall: number }> = [];
  const setError = (m: string) => { st.error = m; status.innerHTML = `<span class="fail">${esc(m)}</span>`; };
  const pump = () => {
    if (!sb || sb.updating || !queue.length) return;
    const end = sb.buffered.length ? sb.buffered.end(sb.buffered.length - 1) : 0;
    // keep about 20 s in the buffer: a phone left on the live view must not fill its memory
    if (sb.buffered.length && end - sb.buffered.start(0) > 30 && video.currentTime > 25) { sb.remove(0, video.currentTime - 20); return; }
    const item = queue.shift()!;
    if (item.wallStart !== undefined) map.push({ t0: end, wall: item.wallStart });
    if (map.length > 200) map.shift();
    try { sb.appendBuffer(item.data); } catch (e) { setError(`append: ${(e as Error).message}`); }
  };
  ws.onmessage = (e) => {
    if (typeof e.data === 'string') { header = JSON.parse(e.data); return; }
    if (!header) return;
    if (header.kind === 'init') {
      const type = mp4Type(header.codec!);
      st.codec = header.codec;
      st.source = header.source;
      if (!MediaSource.isTypeSupported(type)) { st.unsupported = header.codec!; setError(codecHelp(header.codec!)); ws.close(); return; }
      if (!sb) {
        sb = ms.addSourceBuffer(type);
        // sequence mode: each recorder segment restarts its timestamps at 0; the browser lays
        // the fragments end to end instead
        sb.mode = 'sequence';
        sb.addEventListener('updateend', () => {
          const b = sb!.buffered;
          if (b.length) {
            const end = b.end(b.length - 1);
            // stay at the live edge: a viewer more than 1.5 s behind jumps forward
            if (end - video.currentTime > 1.5 || video.currentTime < b.start(0)) video.currentTime = Math.max(b.start(b.length - 1), end - 0.3);
            if (video.paused) void video.play().catch(() => undefined);
          }
          pump();
        });
      }
      queue.push({ data: e.data as ArrayBuffer });
    } else {
      st.fragments++;
      queue.push({ data: e.data as ArrayBuffer, wallStart: header.readAt! - header.seconds! * 1000 });
    }
    pump();
  };
  ws.onclose = () => { if (!st.error) status.textContent = '连接已断开 / disconnected'; };
  video.addEventListener('error', () => setError(`media error ${video.error?.code}: ${video.error?.message}`));
  const tick = setInterval(() => {
    let m: { t0: number; wall: number } | undefined;
    for (const x of map) if (x.t0 <= video.currentTime + 0.01) m = x;
    if (!m || st.error) return;
    // the picture on screen was taken at wall + (currentTime - t0); delay is the box's now minus that
    st.delayMs = Date.now() + skewMs - (m.wall + (video.currentTime - m.t0) * 1000);
    status.innerHTML = `${L('延迟约', 'delay about')} <b id="delay">${(st.delayMs / 1000).toFixed(1)} s</b> · ${L('片段', 'fragments')} ${st.fragments}${st.source === 'sub' ? ` · <span id="sub-stream">${L('子码流（主码流为 H.265，浏览器不能播放）', 'sub stream (the main stream is H.265, which browsers cannot play)')}</span>` : ''}`;
  }, 500);
  return () => { clearInterval(tick); ws.close(); URL.revokeObjectURL(video.src); };
}

// ---- playback ----
interface Seg { id: number; start: number; end: number; firstDts: number; codec: string | null }
const mp4Type = (codec: string) => `video/mp4; codecs="${codec}"`;
const isHevc = (codec: string) => /^(hvc1|hev1)\b/.test(codec);
/** Why a camera does not play here and what fixes it: Chromium's MSE has no H.265 decoder without a platform one. */
const codecHelp = (codec: string) => isHevc(codec)
  ? `此浏览器不能播放 H.265（HEVC）视频（${codec}）。解决：在摄像头设置里把主码流改为 H.264，或在配置中为该摄像头设置 H.264 子码流（cameras[].subRtspUrl）。录像本身完好，可下载片段用播放器观看。 / This browser cannot play H.265 (HEVC) video (${codec}). Fix: set the camera's main stream to H.264 in its settings, or configure an H.264 sub stream for it (cameras[].subRtspUrl). The recording itself is intact: download the clip and play it in a video player.`
  : `此浏览器不能播放该编码（${codec}）。请在摄像头设置里改用 H.264。 / This browser cannot play ${codec}: set the camera to H.264.`;
interface Gap { start: number; end: number; reason: string }

async function playPage(cam: string, q: URLSearchParams) {
  const from = Number(q.get('from')); const to = Number(q.get('to')); const at = Number(q.get('at') ?? from);
  const d = await api<{ segments: Seg[]; gaps: Gap[]; recordedMs: number; longestContinuousMs: number }>(`/api/recordings?camera=${enc(cam)}&from=${from}&to=${to}`);
  const span = to - from;
  const pct = (t: number) => `${Math.max(0, Math.min(100, ((t - from) / span) * 100))}%`;
  const wid = (a: number, b: number) => `${Math.max(0.2, ((Math.min(b, to) - Math.max(a, from)) / span) * 100)}%`;
  show(`<div class="card"><h2>${L('回放', 'Playback')} · ${esc(cam)}</h2><p class="muted">${day(from)} ${hhmm(from)} – ${hhmm(to)} · ${L('已录', 'recorded')} ${mins(d.recordedMs)} · ${L('最长连续', 'longest')} ${mins(d.longestContinuousMs)}</p>
  <video id="play" muted playsinline controls></video>
  <div class="bar" id="pbar">${d.segments.map((s) => `<div class="run" style="left:${pct(s.start)};width:${wid(s.start, s.end)}"></div>`).join('')}${d.gaps.map((g) => `<div class="gap" title="${esc(g.reason)}" style="left:${pct(g.start)};width:${wid(g.start, g.end)}"></div>`).join('')}<div class="head" id="phead"></div></div>
  <p id="play-status" class="muted"></p><div id="play-unsupported"></div>
  <p><a id="clip" href="/api/clip?camera=${enc(cam)}&from=${from}&to=${to}" download>${L('下载片段', 'Download clip')}</a> · <a id="clip-manifest" href="/api/clip?camera=${enc(cam)}&from=${from}&to=${to}&part=manifest" download>${L('清单', 'manifest')}</a></p>
  <table>${d.gaps.map((g) => `<tr class="fail"><td>${L('缺失', 'gap')}</td><td>${hhmm(g.start)}–${hhmm(g.end)}</td><td>${esc(g.reason)}</td></tr>`).join('')}</table></div>`);
  const st = (w.__console.play = { error: null as string | null, loaded: 0, skipped: [] as string[], codecs: [] as string[], unsupported: [] as string[] });
  const status = document.getElementById('play-status')!;
  const video = document.getElementById('play') as HTMLVideoElement;
  if (!d.segments.length) { status.innerHTML = L('此时间段没有录像', 'nothing recorded in this range'); return; }
  // segments this browser cannot decode (H.265 without a platform decoder) are left out of the
  // player and offered as the clip download instead; the rest still plays
  st.unsupported = [...new Set(d.segments.map((s) => s.codec ?? '').filter((c) => c && !MediaSource.isTypeSupported(mp4Type(c))))];
  if (st.unsupported.length) {
    document.getElementById('clip')!.classList.add('badge');
    document.getElementById('play-unsupported')!.innerHTML = `<p class="err" id="codec-help">${esc(codecHelp(st.unsupported[0]))}</p>`;
  }
  const segs = d.segments.filter((s) => s.codec && !st.unsupported.includes(s.codec));
  if (!segs.length) { video.hidden = true; return; }
  const ms = new MediaSource();
  video.src = URL.createObjectURL(ms);
  await new Promise((r) => ms.addEventListener('sourceopen', r, { once: true }));
  // media time 0 is `from`; every segment is placed at its own wall-clock offset, so the gaps
  // between them stay gaps in the media timeline
  const tOf = (wall: number) => (wall - from) / 1000;
  const loaded = new Set<number>();
  let sb: SourceBuffer | undefined;
  let sbType = '';
  let busy = false;
  const waitIdle = () => new Promise<void>((r) => (sb!.updating ? sb!.addEventListener('updateend', () => r(), { once: true }) : r()));
  async function load(i: number) {
    const s = segs[i];
    if (!s || loaded.has(s.id) || busy) return;
    busy = true;
    try {
      const r = await fetch(`/api/segment/${s.id}`, { credentials: 'same-origin' });
      if (!r.ok) throw new Error(`segment ${s.id}: HTTP ${r.status}`);
      const buf = await r.arrayBuffer();
      // the codec string is the file's own (avcC/hvcC, read by the box): a camera switched from
      // Baseline to High, or to another codec, between segments gets changeType at the boundary
      const type = mp4Type(s.codec!);
      if (!sb) {
        sb = ms.addSourceBuffer(type);
        sb.mode = 'segments';
        sbType = type;
        st.codecs.push(s.codec!);
      }
      await waitIdle();
      if (type !== sbType) {
        sb.changeType(type);
        sbType = type;
        st.codecs.push(s.codec!);
      }
      // drop what is far behind the play head: an hour of video does not fit the browser's buffer
      if (sb.buffered.length && video.currentTime - sb.buffered.start(0) > 120) { sb.remove(0, video.currentTime - 60); await waitIdle(); }
      sb.timestampOffset = Math.max(0, tOf(s.start) - s.firstDts);
      sb.appendBuffer(buf); // the file's own init segment comes first: a new init at each boundary
      await waitIdle();
      loaded.add(s.id);
      st.loaded++;
    } catch (e) { st.error = (e as Error).message; status.innerHTML = `<span class="fail">${esc(st.error)}</span>`; }
    finally { busy = false; }
  }
  const idxAt = (t: number) => segs.findIndex((s) => tOf(s.end) > t);
  const ensure = async () => {
    const i = idxAt(video.currentTime);
    if (i < 0) return;
    await load(i);
    await load(i + 1);
  };
  const seek = async (wall: number) => {
    let i = idxAt(tOf(wall));
    if (i < 0) i = segs.length - 1;
    await load(i);
    video.currentTime = Math.max(tOf(wall), tOf(segs[i].start) + 0.05);
    void video.play().catch(() => undefined);
  };
  document.getElementById('pbar')!.addEventListener('click', (ev) => {
    const r = (ev.currentTarget as HTMLElement).getBoundingClientRect();
    void seek(from + ((ev.clientX - r.left) / r.width) * span);
  });
  video.addEventListener('error', () => { st.error = `media error ${video.error?.code}: ${video.error?.message}`; status.innerHTML = `<span class="fail">${esc(st.error)}</span>`; });
  const tick = setInterval(() => {
    const t = video.currentTime;
    document.getElementById('phead')!.style.left = pct(from + t * 1000);
    // the end of the buffered range holding the play head (undefined: the head is outside any)
    let e: number | undefined;
    for (let k = 0; k < video.buffered.length; k++) if (video.buffered.start(k) - 0.1 <= t && t <= video.buffered.end(k) + 0.05) e = video.buffered.end(k);
    const next = segs.find((s) => tOf(s.start) > (e ?? t) - 0.05);
    if (!video.seeking && (e === undefined || e - t < 0.25)) {
      // a gap: the next recorded second lies beyond the buffered data by more than a frame or two,
      // so show it and jump there (a contiguous next segment is just still loading)
      if (next && tOf(next.start) > (e ?? t) + 0.3) {
        const g = d.gaps.find((x) => tOf(x.end) >= (e ?? t) && tOf(x.start) <= tOf(next.start));
        status.innerHTML = `${L('跳过缺失', 'skipping gap')} ${g ? `${hhmm(g.start)}–${hhmm(g.end)} ${esc(g.reason)}` : ''}`;
        st.skipped.push(g?.reason ?? '');
        void seek(next.start);
      } else if (!next && e !== undefined && !video.paused) {
        video.pause();
        status.innerHTML = L('回放结束', 'end of range');
      }
    }
    void ensure();
  }, 250);
  await seek(Math.max(at, segs[0].start));
  cleanup = () => { clearInterval(tick); URL.revokeObjectURL(video.src); };
}

// ---- classes, lesson timeline ----
async function classesPage() {
  const rows = await api<Array<{ id: string; name: string | null; room: string | null }>>('/api/classes');
  show(`<div class="card"><h2>${L('班次', 'Classes')}</h2><table>${rows.map((c) => `<tr><td><a href="#/class/${enc(c.id)}">${esc(c.id)}</a></td><td>${esc(c.name)}</td><td>${esc(c.room)}</td></tr>`).join('')}</table></div>`);
}

interface Finding { rule: string; lesson?: string; trainee?: string; message: string; messageZh: string; advisory?: boolean }
const findings = (v: Finding[], cls: string) => v.map((f) => `<li class="${cls}"><b>${esc(f.rule)}</b>${f.trainee ? ` ${esc(f.trainee)}` : ''} ${esc(f.messageZh)}<span class="en">${esc(f.message)}</span></li>`).join('');

async function classPage(id: string) {
  const d = await api<{ class: { name: string | null } | null; roster: Array<{ id: string; name: string | null }>; lessons: Array<{ id: string; kind: string; start: number; end: number }>; checkins: Array<{ at: number; terminal: string; trainee: string }>; unknown: Array<{ at: number; terminal: string; person: string }>;
    sightings: Array<{ trainee: string; name: string | null; count: number; first: number | null; last: number | null; lessons: string[]; crop: number | null }>; verdict: { eligible: boolean; violations: Finding[]; warnings: Finding[] } }>(`/api/class/${enc(id)}`);
  show(`<div class="card" id="class"><h2>${L('班次', 'Class')} ${esc(id)} ${esc(d.class?.name ?? '')}</h2>
  <p class="${d.verdict.eligible ? 'ok' : 'fail'}" id="verdict">${d.verdict.eligible ? L('结论：合格', 'Verdict: eligible') : L('结论：不合格', 'Verdict: not eligible')}</p><ul>${findings(d.verdict.violations, 'fail')}${findings(d.verdict.warnings, 'warn')}</ul>
  <a href="/api/class/${enc(id)}/bundle" download id="bundle">${L('下载证据包', 'Download evidence bundle')}</a></div>
  <div class="row"><div class="card"><h3>${L('课时', 'Lessons')}</h3><table>${d.lessons.map((l) => `<tr><td><a href="#/lesson/${enc(id)}/${enc(l.id)}">${esc(l.id)}</a></td><td>${day(l.start)} ${hhmm(l.start)}–${hhmm(l.end)}</td><td>${esc(l.kind)}</td></tr>`).join('')}</table></div>
  <div class="card"><h3>${L('名册与出镜', 'Roster and sightings')}</h3><table>${d.sightings.map((s) => `<tr><td>${face(s.crop)}${esc(s.trainee)}</td><td>${esc(s.name)}</td><td>${s.count ? `${s.count}× ${hhmm(s.first!)}–${hhmm(s.last!)}<br><span class="muted">${esc(s.lessons.join(', '))}</span>` : `<span class="warn">${L('未出镜', 'not seen')}</span>`}</td></tr>`).join('')}</table></div></div>
  <div class="row"><div class="card"><h3>${L('签到', 'Check-ins')} (${d.checkins.length})</h3><table>${d.checkins.map((c) => `<tr><td>${day(c.at)} ${hhmm(c.at)}</td><td>${esc(c.trainee)}</td><td class="muted">${esc(c.terminal)}</td></tr>`).join('')}</table></div>
  <div class="card"><h3>${L('未识别人员', 'Unknown people')} (${d.unknown.length})</h3><table>${d.unknown.map((c) => `<tr><td>${day(c.at)} ${hhmm(c.at)}</td><td>${esc(c.person)}</td><td class="muted">${esc(c.terminal)}</td></tr>`).join('')}</table></div></div>`);
}

async function lessonPage(classId: string, lessonId: string) {
  const d = await api<{ lesson: { id: string; kind: string; start: number; end: number }; requiredContinuousMs: number; cameras: Array<{ camera: string; runs: Array<{ start: number; end: number }>; gaps: Gap[]; recordedMs: number; longestContinuousMs: number }>;
    checkins: Array<{ at: number; trainee: string | null; name: string | null; person: string; terminal: string }>; sightings: Array<{ trainee: string; name: string | null; camera: string; at: number }>; seen: Array<{ id: string; name: string | null; first: number; crop: number | null }>; unseen: Array<{ id: string; name: string | null }>;
    alarms: Array<{ kind: string; subject: string; message: string; raised_ms: number }>; violations: Finding[]; warnings: Finding[]; eligible: boolean }>(`/api/class/${enc(classId)}/lesson/${enc(lessonId)}`);
  const { start, end } = d.lesson;
  const span = end - start;
  const pct = (t: number) => `${Math.max(0, Math.min(100, ((t - start) / span) * 100))}%`;
  const wid = (a: number, b: number) => `${Math.max(0.3, ((Math.min(b, end) - Math.max(a, start)) / span) * 100)}%`;
  const bars = d.cameras.map((c) => `<div><b>${esc(c.camera)}</b> · ${L('已录', 'recorded')} ${mins(c.recordedMs)} · ${L('最长连续', 'longest')} <span class="${c.longestContinuousMs >= d.requiredContinuousMs ? 'ok' : 'fail'}" id="longest">${mins(c.longestContinuousMs)}</span> / ${mins(d.requiredContinuousMs)}
    <div class="bar" data-camera="${esc(c.camera)}">${c.runs.map((r) => `<div class="run" style="left:${pct(r.start)};width:${wid(r.start, r.end)}"></div>`).join('')}${c.gaps.map((g) => `<div class="gap" title="${esc(g.reason)}" style="left:${pct(g.start)};width:${wid(g.start, g.end)}"></div>`).join('')}
    ${d.checkins.map((x) => `<div class="mark" title="${esc(x.trainee ?? x.person)}" style="left:${pct(x.at)}"></div>`).join('')}${d.sightings.filter((s) => s.camera === c.camera).map((s) => `<div class="seen" title="${esc(s.trainee)}" style="left:${pct(s.at)}"></div>`).join('')}</div></div>`).join('');
  show(`<div class="card" id="timeline"><h2>${L('课时时间线', 'Lesson timeline')} · ${esc(classId)} / ${esc(lessonId)}</h2><p class="muted">${day(start)} ${hhmm(start)}–${hhmm(end)} · ${esc(d.lesson.kind)} · ${L('点击时间条回放该时刻', 'click a bar to play that moment')}</p>${bars}
  <p class="muted"><span style="color:#2da44e">■</span> ${L('录像', 'recorded')} <span class="fail">■</span> ${L('缺失', 'gap')} <span style="color:#0969da">|</span> ${L('签到', 'check-in')} <span style="color:#8250df">▮</span> ${L('出镜', 'seen')}</p></div>
  <div class="row"><div class="card" id="gaps"><h3>${L('缺失及原因', 'Gaps and reasons')}</h3><table>${d.cameras.flatMap((c) => c.gaps.map((g) => `<tr><td>${esc(c.camera)}</td><td>${hhmm(g.start)}–${hhmm(g.end)}</td><td class="fail">${esc(g.reason)}</td></tr>`)).join('') || `<tr><td>${L('无', 'none')}</td></tr>`}</table></div>
  <div class="card" id="verdict"><h3>${L('判定', 'Verdict')}: <span class="${d.violations.length ? 'fail' : 'ok'}">${d.violations.length ? L('有违规', 'violations') : L('本课时无违规', 'no violation in this lesson')}</span></h3><ul>${findings(d.violations, 'fail')}${findings(d.warnings, 'warn')}</ul></div></div>
  <div class="row"><div class="card" id="seen"><h3>${L('出镜学员', 'Trainees seen')} (${d.seen.length})</h3><table>${d.seen.map((s) => `<tr><td>${face(s.crop)}${esc(s.id)}</td><td>${esc(s.name)}</td><td>${hhmm(s.first)}</td></tr>`).join('')}${d.unseen.map((s) => `<tr class="warn"><td>${esc(s.id)}</td><td>${esc(s.name)}</td><td>${L('未出镜', 'not seen')}</td></tr>`).join('')}</table></div>
  <div class="card" id="checkins"><h3>${L('签到', 'Check-ins')} (${d.checkins.length})</h3><table>${d.checkins.map((c) => `<tr><td>${hhmm(c.at)}</td><td>${esc(c.trainee ?? '')} ${esc(c.name ?? '')}${c.trainee ? '' : `<span class="warn">${L('未识别', 'unknown')} ${esc(c.person)}</span>`}</td><td class="muted">${esc(c.terminal)}</td></tr>`).join('')}</table></div>
  <div class="card"><h3>${L('告警', 'Alarms')} (${d.alarms.length})</h3>${d.alarms.map((a) => `<div class="warn">${hhmm(a.raised_ms)} ${esc(a.kind)} ${esc(a.message)}</div>`).join('')}</div></div>`);
  for (const bar of app.querySelectorAll<HTMLElement>('.bar')) {
    bar.addEventListener('click', (ev) => {
      const r = bar.getBoundingClientRect();
      const t = Math.round(start + ((ev.clientX - r.left) / r.width) * span);
      location.hash = `#/play/${enc(bar.dataset.camera!)}?from=${start}&to=${end}&at=${t}`;
    });
  }
}

async function boxPage() {
  const d = await api<{ box: { id: string; room: string }; doctor: Array<{ id: string; status: string; title: { zh: string; en: string }; detail: string; fix?: { zh: string; en: string } }>; terminals: Array<{ terminal: string; protocol: string; last_event_ms: number | null; last_heartbeat_ms: number | null }>; backlog: { count: number; oldestMs: number | null } }>('/api/box');
  show(`<div class="card" id="doctor"><h2>${L('本机', 'Box')} ${esc(d.box.id)} · ${esc(d.box.room)}</h2><table>${d.doctor.map((c) => `<tr><td class="${c.status}">${c.status === 'ok' ? '✔' : c.status === 'warn' ? '!' : '✘'}</td><td>${L(c.title.zh, c.title.en)}<br><span class="muted">${esc(c.detail)}</span>${c.fix && c.status !== 'ok' ? `<br>${L(c.fix.zh, c.fix.en)}` : ''}</td></tr>`).join('')}</table></div>
  <div class="row"><div class="card"><h3>${L('终端', 'Terminals')}</h3><table>${d.terminals.map((t) => `<tr><td>${esc(t.terminal)}</td><td>${esc(t.protocol)}</td><td>${t.last_event_ms ? `${day(t.last_event_ms)} ${hhmm(t.last_event_ms)}` : '—'}</td></tr>`).join('')}</table></div>
  <div class="card"><h3>${L('待上报', 'Upload backlog')}</h3><p id="backlog">${d.backlog.count}${d.backlog.oldestMs ? ` · ${L('最早', 'oldest')} ${day(d.backlog.oldestMs)} ${hhmm(d.backlog.oldestMs)}` : ''}</p></div></div>`);
}

async function accessPage() {
  const rows = await api<Array<{ at_ms: number; user: string; role: string; action: string; subject: string; remote: string | null; outcome: string }>>('/api/access');
  show(`<div class="card" id="access"><h2>${L('访问记录', 'Access log')}</h2><table>${rows.map((r) => `<tr><td>${day(r.at_ms)} ${hhmm(r.at_ms)}</td><td>${esc(r.user)} <span class="muted">${esc(r.role)}</span></td><td>${esc(r.action)} ${esc(r.subject)}</td><td class="${r.outcome === 'ok' ? 'ok' : 'fail'}">${esc(r.outcome)}</td><td class="muted">${esc(r.remote)}</td></tr>`).join('')}</table></div>`);
}

async function route() {
  navigation++;
  cleanup?.();
  cleanup = undefined;
  const [p, qs] = location.hash.slice(1).split('?');
  const parts = (p || '/today').split('/').slice(1).map(decodeURIComponent);
  const q = new URLSearchParams(qs ?? '');
  try {
    if (parts[0] === 'logout') { await fetch('/api/logout', { method: 'POST' }); me = undefined; location.hash = '#/login'; return; }
    if (!me && parts[0] !== 'login') {
      try { me = await fetchMe(); } catch { return; }
    }
    drawNav();
    switch (parts[0]) {
      case 'login': return loginPage();
      case 'cameras': return await camerasPage();
      case 'live': return parts[1] ? await livePage(parts[1]) : await liveAllPage();
      case 'play': return await playPage(parts[1], q);
      case 'classes': return await classesPage();
      case 'class': return await classPage(parts[1]);
      case 'lesson': return await lessonPage(parts[1], parts[2]);
      case 'box': return await boxPage();
      case 'access': return await accessPage();
      default: return await todayPage();
    }
  } catch (e) { fail(e); }
}

window.addEventListener('hashchange', () => void route());
void route();
