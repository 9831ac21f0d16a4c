/**
 * QUIC Initial packet protection (RFC 9001 §5, RFC 9369 §3.3): keys derived
 * from the client's first destination connection id (HKDF over
 * `node:crypto`'s synchronous HMAC), header protection removed with AES-ECB
 * of one block, and the payload opened with AES-128-GCM, both through
 * WebCrypto.
 *
 * @module
 */

import { createHmac } from "node:crypto";
import { QUIC_V2 } from "./quic_header.ts";

/** Keys of one direction's Initial packets. */
export interface QuicInitialKeys {
  /** AEAD key (AES-128-GCM). */
  key: CryptoKey;
  /** 12-byte IV the packet number is XORed into. */
  iv: Uint8Array;
  /** Header protection key (AES-128, used as AES-CTR to get one ECB block). */
  hp: CryptoKey;
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.fromHex(hex);
}

/** initial_salt per version (RFC 9001 §5.2, RFC 9369 §3.3.1, drafts 23–28 and 29–34). */
const SALT_V1 = hexBytes("38762cf7f55934b34d179ae6a4c80cadccbb7f0a");
const SALT_V2 = hexBytes("0dede3def700a6db819381be6e269dcbf9bd2ed9");
const SALT_DRAFT_29 = hexBytes("afbfec289993d24c9e9786f19c6111e04390a899");
const SALT_DRAFT_23 = hexBytes("c3eef712c72ebb5a11a7d2432bb46365bef9f502");

function saltFor(version: number): Uint8Array {
  if (version === QUIC_V2) return SALT_V2;
  const draft = version & 0xff;
  if ((version >>> 8) === 0xff0000 && draft >= 23 && draft <= 28) return SALT_DRAFT_23;
  if ((version >>> 8) === 0xff0000 && draft >= 29 && draft < 0x100) {
    return draft <= 32 ? SALT_DRAFT_29 : SALT_V1;
  }
  return SALT_V1;
}

/**
 * HMAC-SHA256 through `node:crypto`, which is synchronous: a key schedule is
 * five HMACs, and as WebCrypto calls each would be an import and a sign, ten
 * asynchronous round trips per connection instead of none.
 */
function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac("sha256", key).update(data).digest());
}

/**
 * HKDF-Expand-Label (RFC 8446 §7.1) with an empty context, for outputs of
 * at most one SHA-256 block: HMAC(secret, HkdfLabel || 0x01).
 */
function expandLabel(secret: Uint8Array, label: string, length: number): Uint8Array {
  const fullLabel = new TextEncoder().encode(`tls13 ${label}`);
  const info = new Uint8Array(2 + 1 + fullLabel.length + 1 + 1);
  info[0] = length >> 8;
  info[1] = length & 0xff;
  info[2] = fullLabel.length;
  info.set(fullLabel, 3);
  info[3 + fullLabel.length] = 0; // empty context
  info[4 + fullLabel.length] = 1; // the first (and only) HKDF-Expand block
  return hmacSha256(secret, info).slice(0, length);
}

/** The secret, key, IV and header-protection key of one direction, as raw bytes (for tests). */
export interface QuicInitialSecrets {
  /** The direction's initial secret (32 bytes). */
  secret: Uint8Array;
  /** AEAD key (16 bytes). */
  key: Uint8Array;
  /** AEAD IV (12 bytes). */
  iv: Uint8Array;
  /** Header-protection key (16 bytes). */
  hp: Uint8Array;
}

/**
 * Derives the raw Initial secrets of one direction from the client's first
 * destination connection id (RFC 9001 §5.2; RFC 9369 §3.3 renames the
 * labels to `quicv2 key`, `quicv2 iv`, `quicv2 hp` and changes the salt).
 */
export function deriveQuicInitialSecrets(
  dcid: Uint8Array,
  version: number,
  side: "client" | "server",
): QuicInitialSecrets {
  const initialSecret = hmacSha256(saltFor(version), dcid);
  const secret = expandLabel(initialSecret, `${side} in`, 32);
  const prefix = version === QUIC_V2 ? "quicv2 " : "quic ";
  return {
    secret,
    key: expandLabel(secret, `${prefix}key`, 16),
    iv: expandLabel(secret, `${prefix}iv`, 12),
    hp: expandLabel(secret, `${prefix}hp`, 16),
  };
}

/** Derives one direction's Initial keys, ready for {@linkcode openQuicInitial}. */
export async function deriveQuicInitialKeys(
  dcid: Uint8Array,
  version: number,
  side: "client" | "server",
): Promise<QuicInitialKeys> {
  const secrets = deriveQuicInitialSecrets(dcid, version, side);
  return {
    key: await crypto.subtle.importKey(
      "raw",
      secrets.key.slice(),
      "AES-GCM",
      false,
      ["decrypt"],
    ),
    iv: secrets.iv,
    hp: await crypto.subtle.importKey("raw", secrets.hp.slice(), "AES-CTR", false, ["encrypt"]),
  };
}

const ZERO_BLOCK = new Uint8Array(16);
const SAMPLE_BYTES = 16;
const TAG_BYTES = 16;

/** A decrypted Initial packet. */
export interface OpenedQuicPacket {
  /** The packet number (as truncated on the wire; Initial numbers start at 0). */
  packetNumber: number;
  /** The decrypted frames. */
  payload: Uint8Array;
}

/**
 * Removes header protection from and decrypts one long-header packet
 * `packet[start..end)` whose packet number starts at `packetNumberOffset`.
 * Never throws on the bytes: null when the packet is too short or does not
 * authenticate under these keys.
 *
 * The header-protection mask is AES-ECB of one 16-byte sample (RFC 9001
 * §5.4.3). WebCrypto has no ECB; AES-CTR with the sample as the counter
 * block, over one zero block, yields exactly AES(sample).
 */
export async function openQuicInitial(
  packet: Uint8Array,
  start: number,
  packetNumberOffset: number,
  end: number,
  keys: QuicInitialKeys,
): Promise<OpenedQuicPacket | null> {
  if (end > packet.length || packetNumberOffset + 4 + SAMPLE_BYTES > end) return null;
  const sample = packet.slice(packetNumberOffset + 4, packetNumberOffset + 4 + SAMPLE_BYTES);
  let mask: Uint8Array;
  try {
    mask = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: "AES-CTR", counter: sample, length: 128 },
        keys.hp,
        ZERO_BLOCK,
      ),
    );
  } catch {
    return null;
  }
  const firstByte = packet[start] ^ (mask[0] & 0x0f);
  const packetNumberLength = (firstByte & 0x03) + 1;
  const payloadStart = packetNumberOffset + packetNumberLength;
  if (payloadStart + TAG_BYTES > end) return null;
  const header = packet.slice(start, payloadStart);
  header[0] = firstByte;
  let packetNumber = 0;
  for (let i = 0; i < packetNumberLength; i++) {
    const at = packetNumberOffset - start + i;
    header[at] ^= mask[1 + i];
    packetNumber = packetNumber * 256 + header[at];
  }
  const nonce = keys.iv.slice();
  for (let i = 0; i < 4; i++) nonce[11 - i] ^= (packetNumber >>> (8 * i)) & 0xff;
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: nonce, additionalData: header, tagLength: 128 },
      keys.key,
      packet.slice(payloadStart, end),
    );
    return { packetNumber, payload: new Uint8Array(plain) };
  } catch {
    return null; // not authentic under these keys: not an Initial we can read
  }
}
