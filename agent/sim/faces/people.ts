/**
 * The 22 faces in @vladmandic/face-api's demo photos (demo/sample1..6.jpg), located once by
 * hand-checked detection (x, y, width, height in the original photo). Each is treated as a
 * distinct person; the test fixtures cut them out, degrade them and seat them in a classroom.
 */
export interface Person {
  id: string;
  sample: number;
  box: [number, number, number, number];
}

const raw: Record<number, [number, number, number, number][]> = {
  1: [
    [414, 355, 177, 239],
    [838, 421, 187, 227],
    [1476, 200, 203, 241],
  ],
  2: [
    [1447, 154, 193, 242],
    [902, 220, 150, 234],
    [361, 126, 152, 260],
  ],
  3: [
    [585, 329, 199, 271],
    [1514, 292, 170, 280],
    [1075, 215, 221, 299],
  ],
  4: [
    [664, 52, 187, 258],
    [257, 185, 162, 246],
    [988, 180, 169, 228],
    [1277, 144, 145, 242],
  ],
  5: [
    [787, 108, 156, 212],
    [1112, 198, 159, 237],
    [1406, 390, 166, 271],
    [597, 415, 167, 248],
    [377, 859, 172, 301],
  ],
  6: [
    [681, 320, 160, 308],
    [1181, 305, 188, 279],
    [1487, 262, 212, 297],
    [249, 468, 211, 291],
  ],
};

export const PEOPLE: Person[] = Object.entries(raw).flatMap(([s, boxes]) => boxes.map((box, j) => ({ id: `P${s}${String.fromCharCode(97 + j)}`, sample: Number(s), box })));

/**
 * The half enrolled in the tests. P2b and P4d (turned heads, detector score < 0.9) are not
 * enrollable from their crops, so their neighbours P2a and P4c take their place; strangers are
 * the rest.
 */
export const ENROLLED = new Set(['P1a', 'P1c', 'P2a', 'P3a', 'P3c', 'P4b', 'P4c', 'P5b', 'P5d', 'P6a', 'P6c']);
