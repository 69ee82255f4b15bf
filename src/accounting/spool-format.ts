/**
 * On-disk format of the accounting spool: framed records in segment files, and a scanner
 * that walks a segment, checks every frame and resynchronises after a damaged one.
 *
 * Frame (all integers little-endian):
 *   magic   4  0xAA 'S' 'P' 'L'      finds the next frame after damage
 *   length  u32                      payload bytes
 *   crc     u32                      CRC-32 (zlib) of the length field, then the payload
 *   payload:
 *     version    u8   = 1
 *     seq        u64  (written as two u32, low word first; seq < 2^53)
 *     enqueuedAt u64  ms since the epoch (same encoding)
 *     clientLen  u16, client   UTF-8 NAS client name
 *     packetLen  u32, packet   the NAS's Accounting-Request as received
 */
import { crc32 } from 'node:zlib';
import type { FileHandle } from 'node:fs/promises';

export const MAGIC = Buffer.from([0xaa, 0x53, 0x50, 0x4c]);
const MAGIC_U32 = MAGIC.readUInt32LE(0);
export const HEADER_BYTES = 12;
export const FORMAT_VERSION = 1;
const FIXED_PAYLOAD = 1 + 8 + 8 + 2 + 4;
/** RFC 6613 §2.2 / RFC 7930: a RADIUS packet is at most 65535 octets (4096 over UDP, RFC 2865 §3). */
export const MAX_PACKET_BYTES = 65535;
export const MAX_CLIENT_BYTES = 65535;
const MAX_PAYLOAD = FIXED_PAYLOAD + MAX_CLIENT_BYTES + MAX_PACKET_BYTES;
const TWO32 = 2 ** 32;

export interface DecodedRecord {
  seq: number;
  enqueuedAt: number;
  client: string;
  /** A view into the buffer that was decoded: copy it if the buffer is reused. */
  packet: Buffer;
}

/** Bytes the frame of this record takes on disk. */
export function frameBytes(clientBytes: number, packetBytes: number): number {
  return HEADER_BYTES + FIXED_PAYLOAD + clientBytes + packetBytes;
}

/**
 * Writes one frame at `off`; returns the offset of the packet bytes inside `buf`.
 * `client` must already be UTF-8 bytes.
 */
export function writeFrame(buf: Buffer, off: number, seq: number, enqueuedAt: number, client: Buffer, packet: Buffer): number {
  const payloadLen = FIXED_PAYLOAD + client.length + packet.length;
  let p = off + HEADER_BYTES;
  buf.writeUInt8(FORMAT_VERSION, p);
  writeU64(buf, p + 1, seq);
  writeU64(buf, p + 9, enqueuedAt);
  buf.writeUInt16LE(client.length, p + 17);
  p += 19;
  client.copy(buf, p);
  p += client.length;
  buf.writeUInt32LE(packet.length, p);
  p += 4;
  const packetAt = p;
  packet.copy(buf, p);
  MAGIC.copy(buf, off);
  buf.writeUInt32LE(payloadLen, off + 4);
  buf.writeUInt32LE(frameCrc(buf, off, payloadLen), off + 8);
  return packetAt;
}

function frameCrc(buf: Buffer, off: number, payloadLen: number): number {
  const lenCrc = crc32(buf.subarray(off + 4, off + 8));
  return crc32(buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + payloadLen), lenCrc);
}

function writeU64(buf: Buffer, off: number, v: number): void {
  buf.writeUInt32LE(v % TWO32, off);
  buf.writeUInt32LE(Math.floor(v / TWO32), off + 4);
}

function readU64(buf: Buffer, off: number): number {
  return buf.readUInt32LE(off) + buf.readUInt32LE(off + 4) * TWO32;
}

type FrameCheck =
  | { kind: 'record'; bytes: number; record: DecodedRecord }
  /** Header fine, but the frame ends after `avail`: need `bytes` from here to decide. */
  | { kind: 'short'; bytes: number }
  | { kind: 'bad' };

/** Checks the frame at `off`; `avail` bytes of `buf` from `off` are loaded. */
function checkFrame(buf: Buffer, off: number, avail: number): FrameCheck {
  if (avail < HEADER_BYTES) return { kind: 'short', bytes: HEADER_BYTES };
  if (buf.readUInt32LE(off) !== MAGIC_U32) return { kind: 'bad' };
  const len = buf.readUInt32LE(off + 4);
  if (len < FIXED_PAYLOAD || len > MAX_PAYLOAD) return { kind: 'bad' };
  const bytes = HEADER_BYTES + len;
  if (avail < bytes) return { kind: 'short', bytes };
  if (frameCrc(buf, off, len) !== buf.readUInt32LE(off + 8)) return { kind: 'bad' };
  const p = off + HEADER_BYTES;
  if (buf.readUInt8(p) !== FORMAT_VERSION) return { kind: 'bad' };
  const clientLen = buf.readUInt16LE(p + 17);
  if (FIXED_PAYLOAD + clientLen > len) return { kind: 'bad' };
  const packetLenAt = p + 19 + clientLen;
  const packetLen = buf.readUInt32LE(packetLenAt);
  if (FIXED_PAYLOAD + clientLen + packetLen !== len) return { kind: 'bad' };
  return {
    kind: 'record',
    bytes,
    record: {
      seq: readU64(buf, p + 1),
      enqueuedAt: readU64(buf, p + 9),
      client: buf.toString('utf8', p + 19, packetLenAt),
      packet: buf.subarray(packetLenAt + 4, packetLenAt + 4 + packetLen),
    },
  };
}

export type ScanEvent =
  | { type: 'record'; offset: number; bytes: number; record: DecodedRecord }
  /** Damaged bytes followed by a valid frame: skipped. */
  | { type: 'corrupt'; offset: number; bytes: number }
  /** Damaged or incomplete bytes up to the end of the range, with no valid frame after them. */
  | { type: 'tail'; offset: number; bytes: number }
  /** Zeros from a frame boundary to the end of the range: preallocated space not written yet. */
  | { type: 'free'; offset: number; bytes: number };

const CHUNK = 256 * 1024;
const ZEROS = Buffer.alloc(CHUNK);

/**
 * Walks the frames of [start, end) of a segment file, reading it in chunks (memory is one
 * chunk or one frame, whichever is larger). Every damaged stretch is reported once: as
 * 'corrupt' when a valid frame follows it, as 'tail' when none does (a torn write).
 * Record packets are views into the chunk buffer; the caller copies what it keeps.
 */
export async function* scanFrames(fh: FileHandle, start: number, end: number): AsyncGenerator<ScanEvent> {
  end = Math.max(start, end);
  let buf = Buffer.alloc(0);
  let bufAt = start; // file offset of buf[0]
  const load = async (at: number, need: number): Promise<void> => {
    const want = Math.min(need, end - at);
    if (at >= bufAt && at + want <= bufAt + buf.length) return;
    const size = Math.min(end - at, Math.max(CHUNK, need));
    const next = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const { bytesRead } = await fh.read(next, got, size - got, at + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got < size) end = at + got; // the file is shorter than expected: what is missing is torn
    buf = next.subarray(0, got);
    bufAt = at;
  };

  let pos = start;
  let badAt = -1;
  while (pos < end) {
    await load(pos, HEADER_BYTES);
    let check = checkFrame(buf, pos - bufAt, bufAt + buf.length - pos);
    if (check.kind === 'short' && pos + check.bytes <= end) {
      await load(pos, check.bytes);
      check = checkFrame(buf, pos - bufAt, bufAt + buf.length - pos);
    }
    if (check.kind === 'record') {
      if (badAt >= 0) {
        yield { type: 'corrupt', offset: badAt, bytes: pos - badAt };
        badAt = -1;
      }
      yield { type: 'record', offset: pos, bytes: check.bytes, record: check.record };
      pos += check.bytes;
      continue;
    }
    // Nothing written here yet? A frame never starts with a zero octet (MAGIC), and the spool
    // preallocates segments with zeros; zeros to the end of the range are free space.
    if (badAt < 0 && buf[pos - bufAt] === 0) {
      let at = pos;
      let zeros = true;
      while (zeros && at < end) {
        await load(at, Math.min(CHUNK, end - at));
        const upto = Math.min(end, bufAt + buf.length);
        zeros = buf.subarray(at - bufAt, upto - bufAt).equals(ZEROS.subarray(0, upto - at));
        at = upto;
      }
      if (zeros) {
        yield { type: 'free', offset: pos, bytes: end - pos };
        return;
      }
      await load(pos, HEADER_BYTES);
    }
    // Damaged here (or a frame that runs past the end): look for the next magic.
    if (badAt < 0) badAt = pos;
    const i = buf.indexOf(MAGIC, pos + 1 - bufAt);
    if (i >= 0) pos = bufAt + i;
    else if (bufAt + buf.length >= end) break;
    else pos = Math.max(pos + 1, bufAt + buf.length - (MAGIC.length - 1)); // a magic may straddle the chunk end
  }
  if (badAt >= 0) yield { type: 'tail', offset: badAt, bytes: end - badAt };
}
