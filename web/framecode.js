// The frame code the demo source's frames carry (camera-service framecode.py,
// same layout): a strip along the bottom, 40 black/white blocks across the
// full width, one bit each, most significant first:
//   2 guard bits (1, 0) | 16 bits seq mod 65536 | 16 bits capture ms mod 65536 | 6 bits check
// The check is the sum of the four data bytes mod 64. Functions of pixel data.

export const BLOCKS = 40;
export const WHEEL = 65536;

// The strip's height in pixels for a picture `width` pixels wide.
export function stripHeight(width) {
  return Math.max(4, Math.floor(width / BLOCKS));
}

export function bitsOf(seq, ms) {
  seq %= WHEEL;
  ms %= WHEEL;
  const check = ((seq >> 8) + (seq & 0xff) + (ms >> 8) + (ms & 0xff)) % 64;
  const bits = [1, 0];
  for (let i = 15; i >= 0; i--) bits.push((seq >> i) & 1);
  for (let i = 15; i >= 0; i--) bits.push((ms >> i) & 1);
  for (let i = 5; i >= 0; i--) bits.push((check >> i) & 1);
  return bits;
}

// {seq, ms} from 40 bits, or null when the guard or the check does not match.
export function codeOf(bits) {
  if (bits.length !== BLOCKS) return null;
  const value = (from, to) => bits.slice(from, to).reduce((v, b) => v * 2 + b, 0);
  const seq = value(2, 18);
  const ms = value(18, 34);
  const expected = bitsOf(seq, ms);
  return expected.every((b, i) => b === bits[i]) ? { seq, ms } : null;
}

// Reads the code from the bottom `stripHeight(width)` rows of a picture:
// `rgba` holds `rows` rows of `width` RGBA pixels (e.g. getImageData of the
// strip). Each block is read from its middle half. Returns {seq, ms} or null.
export function readFrameCode(rgba, width, rows) {
  const band = Math.min(rows, stripHeight(width));
  const y0 = rows - band + Math.floor(band / 4);
  const y1 = rows - Math.floor(band / 4);
  const bits = [];
  for (let i = 0; i < BLOCKS; i++) {
    const x0 = Math.floor((i * width) / BLOCKS);
    const x1 = Math.floor(((i + 1) * width) / BLOCKS);
    const inset = Math.floor((x1 - x0) / 4);
    let sum = 0;
    let count = 0;
    for (let y = y0; y < y1; y++) {
      for (let x = x0 + inset; x < x1 - inset; x++) {
        const p = (y * width + x) * 4;
        sum += (rgba[p] + rgba[p + 1] + rgba[p + 2]) / 3;
        count++;
      }
    }
    bits.push(count && sum / count > 127 ? 1 : 0);
  }
  return codeOf(bits);
}

// Milliseconds from the code's capture (`ms`) to `nowMs` (Unix ms), on the 65 s wheel.
export function lagMs(ms, nowMs) {
  return (((Math.round(nowMs) - ms) % WHEEL) + WHEEL) % WHEEL;
}

// Is sequence number `a` at or after `b` (both mod 65536, less than half the wheel apart)?
export function seqAtOrAfter(a, b) {
  return ((a - b + WHEEL) % WHEEL) < WHEEL / 2;
}
