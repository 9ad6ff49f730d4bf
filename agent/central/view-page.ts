/**
 * The supervisor view's one HTML page: the shell that dist/web/central.js (built from
 * web/central/central.ts at npm ci) fills in, and hls.js served from its npm package. No
 * external fonts, scripts or CDNs: a provincial network may have no internet either.
 */
const CSS = `
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;color:#1b1f24;background:#f4f6f8}
header{display:flex;gap:.75rem;align-items:center;padding:.5rem .75rem;background:#5e1f0f;color:#fff}header b{margin-right:auto}
main{padding:.75rem;max-width:1200px;margin:auto}.en{color:#6a737d;font-size:.85em;margin-left:.25em}header .en{color:#f3dccf}
.card{background:#fff;border-radius:8px;padding:.75rem;margin:0 0 .75rem;box-shadow:0 1px 2px #0002}h2{font-size:1.1em;margin:.2rem 0 .5rem}
table{border-collapse:collapse;width:100%}td,th{padding:.3rem .4rem;border-bottom:1px solid #e6e8eb;text-align:left;vertical-align:top}
.ok{color:#1a7f37}.warn{color:#9a6700}.bad{color:#cf222e}.muted{color:#6a737d}.err{background:#ffebe9;color:#cf222e;padding:.5rem;border-radius:6px}
video{width:100%;background:#000;border-radius:6px;max-height:60vh}
form.inline{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}form.inline label{display:flex;flex-direction:column;font-size:.9em}
input,select,button{font:inherit;padding:.4rem}button{cursor:pointer}#login input{display:block;width:100%;max-width:22rem;margin:.2rem 0}
.row{display:flex;flex-wrap:wrap;gap:.75rem}.row>.card{flex:1 1 420px}
`;

export function supervisorPage(): string {
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>省平台监管 Supervisor view</title><style>${CSS}</style></head>
<body><header><b>省平台监管<span class="en">Supervisor view</span></b><span id="me"></span></header><main id="app">…</main>
<script src="/hls.js"></script>
<script type="module" src="/central.js"></script></body></html>`;
}
