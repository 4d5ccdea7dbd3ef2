// Files for the upload tests, made here: real PNGs, and files that only
// pretend to be pictures.
import { deflateSync } from 'node:zlib';

/** @type {number[]} */
const CRC_TABLE = [];
for (let n = 0; n < 256; n += 1) {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC_TABLE.push(c >>> 0);
}

/** @param {Buffer} bytes */
function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * @param {string} type
 * @param {Buffer} data
 */
function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A real PNG: a warm gradient of `width` × `height` (RGB, 8 bits).
 * @param {number} width
 * @param {number} height
 */
export function png(width, height) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y += 1) {
    const row = y * (width * 3 + 1);
    rows[row] = 0; // no filter
    for (let x = 0; x < width; x += 1) {
      const i = row + 1 + x * 3;
      const sun = Math.hypot(x - width * 0.7, y - height * 0.45) < height * 0.18;
      rows[i] = sun ? 255 : 200 + Math.round((55 * x) / width);
      rows[i + 1] = sun ? 236 : 90 + Math.round((100 * y) / height);
      rows[i + 2] = sun ? 160 : 60 + Math.round((60 * (height - y)) / height);
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Markup that would run if a browser ever rendered it as a page. */
const SCRIPT = '<script>window.top.__pwned = "script"; alert("pwned")</script><img src=x onerror="window.top.__pwned=\'img\'">';

/** Files that must never run anything, whatever they claim to be. */
export const DISGUISED = [
  { name: 'holiday.png', mimeType: 'image/png', buffer: Buffer.from(`<!doctype html><html><body>${SCRIPT}</body></html>`) },
  {
    name: 'logo.svg',
    mimeType: 'image/svg+xml',
    buffer: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert('svg')"><script>window.top.__pwned='svg'</script><rect width="10" height="10"/></svg>`),
  },
  // A valid PNG with a page after it: a picture to the server, and still nothing runs.
  { name: 'polyglot.png', mimeType: 'text/html', buffer: Buffer.concat([png(4, 4), Buffer.from(`<html>${SCRIPT}</html>`)]) },
];
