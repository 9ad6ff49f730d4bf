/**
 * The console's one HTML page: the shell the script (dist/web/console.js, built from
 * web/console/console.ts at npm ci) fills in. No external fonts, scripts or CDNs: the box has no
 * internet, and the system font stack has CJK glyphs on every phone.
 */
const CSS = `
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;color:#1b1f24;background:#f4f6f8}
header{display:flex;flex-wrap:wrap;gap:.25rem .75rem;align-items:center;padding:.5rem .75rem;background:#0f3d5e;color:#fff}
header b{margin-right:auto}header a{color:#fff;text-decoration:none;padding:.2rem .4rem;border-radius:4px}header a.on{background:#ffffff33}
main{padding:.75rem;max-width:1100px;margin:auto}.en{color:#6a737d;font-size:.85em;margin-left:.25em}header .en{color:#cfe3f3}
.card{background:#fff;border-radius:8px;padding:.75rem;margin:0 0 .75rem;box-shadow:0 1px 2px #0002}
table{border-collapse:collapse;width:100%}td,th{padding:.3rem .4rem;border-bottom:1px solid #e6e8eb;text-align:left;vertical-align:top}
.ok{color:#1a7f37}.warn{color:#9a6700}.fail,.bad{color:#cf222e}.badge{display:inline-block;padding:0 .4rem;border-radius:9px;background:#eef;font-size:.85em}
video{width:100%;background:#000;border-radius:6px;max-height:70vh}
.bar{position:relative;height:28px;background:#eee;border-radius:4px;cursor:pointer;margin:.25rem 0;overflow:hidden}
.bar .run{position:absolute;top:0;bottom:0;background:#2da44e}.bar .gap{position:absolute;top:0;bottom:0;background:repeating-linear-gradient(45deg,#cf222e,#cf222e 4px,#f6c4c4 4px,#f6c4c4 8px)}
.bar .mark{position:absolute;top:0;bottom:0;width:2px;background:#0969da}.bar .seen{position:absolute;bottom:0;height:8px;width:3px;background:#8250df}.bar .head{position:absolute;top:0;bottom:0;width:2px;background:#000}
form input,select,button{font:inherit;padding:.45rem;margin:.2rem 0;width:100%;max-width:22rem;display:block}button{cursor:pointer}
img.face{display:block;width:64px;height:64px;object-fit:cover;border-radius:4px;margin-bottom:.2rem;background:#eee}
.row{display:flex;flex-wrap:wrap;gap:.75rem}.row>.card{flex:1 1 300px}.muted{color:#6a737d}.err{background:#ffebe9;color:#cf222e;padding:.5rem;border-radius:6px}
`;

export function consolePage(): string {
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>课堂取证控制台 Classroom console</title><style>${CSS}</style></head>
<body><header id="nav"><b>课堂取证控制台<span class="en">Classroom console</span></b></header><main id="app">…</main>
<script type="module" src="/console.js"></script></body></html>`;
}
