import type { Box } from './engine.js';
import type { RgbFrame } from './frames.js';
import { detectOnCanvas, resizeInto, scratch, SSD_SIZE, type Region } from './ssd.js';
import type { Loaded } from './tf.js';

/** cells per side of a mosaic canvas: 3 × 3 regions per SSD pass */
const GRID = 3;
/** black (−1) pixels between cells, so no detection spans two regions */
const GAP = 4;
/** a cell's side on the 512 × 512 canvas */
export const CELL = Math.floor((SSD_SIZE - (GRID - 1) * GAP) / GRID);

/** One region of the frame and where it sits on which canvas. */
export interface Cell {
  canvas: number;
  /** top-left of the cell on its canvas (canvas pixels) */
  cx: number;
  cy: number;
  /** the frame's pixels it shows (a square, resized to CELL × CELL) */
  region: Region;
}

/**
 * The mosaic's layout: one square region of the frame around each focus face, shown at the
 * tiles' own scale (a tileSize tile becomes 512 px, so a region of CELL × tileSize / 512 frame
 * pixels becomes a cell: 210 px at the default 640, i.e. 0.8×), so the SSD sees each face as it
 * would in a tile; a face wider than half that gets a region twice its width (it is shrunk more,
 * as a big face can be). A face already inside an earlier region, with a quarter of its width to
 * spare on every side, adds no region. Regions lie inside the frame (shifted in from its edges).
 * Nine cells per canvas; one SSD pass per canvas.
 */
export function mosaicCells(focus: readonly Box[], width: number, height: number, tileSize: number): Cell[] {
  const side0 = Math.round((CELL * tileSize) / SSD_SIZE);
  const regions: Region[] = [];
  const order = [...focus].sort((a, b) => a.y - b.y || a.x - b.x);
  for (const f of order) {
    const m = f.width / 4;
    const inside = regions.some((r) => f.x - m >= r.x && f.y - m >= r.y && f.x + f.width + m <= r.x + r.w && f.y + f.height + m <= r.y + r.h);
    if (inside) continue;
    const side = Math.min(width, height, Math.max(side0, Math.ceil(2 * Math.max(f.width, f.height))));
    const cx = f.x + f.width / 2;
    const cy = f.y + f.height / 2;
    const x = Math.max(0, Math.min(width - side, Math.round(cx - side / 2)));
    const y = Math.max(0, Math.min(height - side, Math.round(cy - side / 2)));
    regions.push({ x, y, w: side, h: side });
  }
  const per = GRID * GRID;
  return regions.map((region, i) => {
    const k = i % per;
    return { canvas: Math.floor(i / per), cx: (k % GRID) * (CELL + GAP), cy: Math.floor(k / GRID) * (CELL + GAP), region };
  });
}

/**
 * The SSD over the mosaic of `cells`: each canvas built in JS (resizeInto, the tiles' resize),
 * one pass per canvas, each detection mapped back to frame pixels through its cell. A detection
 * reaching a cell's border is a face cut by the region (the rest of it is outside the cell) and
 * is dropped, unless that border is the frame's own edge (the tiles keep those too); the face
 * is found whole by the region of its own, or by the whole-frame pass.
 */
export function locateInMosaic(l: Loaded, frame: RgbFrame, cells: readonly Cell[], minConfidence: number): { box: Box; score: number }[] {
  const out: { box: Box; score: number }[] = [];
  const canvases = cells.length ? Math.max(...cells.map((c) => c.canvas)) + 1 : 0;
  for (let k = 0; k < canvases; k++) {
    const mine = cells.filter((c) => c.canvas === k);
    const input = scratch(SSD_SIZE * SSD_SIZE * 3).subarray(0, SSD_SIZE * SSD_SIZE * 3);
    input.fill(-1);
    for (const c of mine) resizeInto(frame, c.region, CELL, CELL, input, SSD_SIZE, c.cx, c.cy, true);
    for (const d of detectOnCanvas(l, input, minConfidence)) {
      const mx = d.box.x + d.box.width / 2;
      const my = d.box.y + d.box.height / 2;
      const c = mine.find((q) => mx >= q.cx && mx < q.cx + CELL && my >= q.cy && my < q.cy + CELL);
      if (!c) continue; // centred in a gap or the canvas's empty part
      const r = c.region;
      const edge = 1; // canvas pixels
      const cutL = d.box.x <= c.cx + edge && r.x > 0;
      const cutT = d.box.y <= c.cy + edge && r.y > 0;
      const cutR = d.box.x + d.box.width >= c.cx + CELL - edge && r.x + r.w < frame.width;
      const cutB = d.box.y + d.box.height >= c.cy + CELL - edge && r.y + r.h < frame.height;
      if (cutL || cutT || cutR || cutB) continue;
      const s = r.w / CELL;
      const x0 = Math.max(0, d.box.x - c.cx) * s;
      const y0 = Math.max(0, d.box.y - c.cy) * s;
      const x1 = Math.min(CELL, d.box.x + d.box.width - c.cx) * s;
      const y1 = Math.min(CELL, d.box.y + d.box.height - c.cy) * s;
      out.push({ box: { x: r.x + x0, y: r.y + y0, width: x1 - x0, height: y1 - y0 }, score: d.score });
    }
  }
  return out;
}
