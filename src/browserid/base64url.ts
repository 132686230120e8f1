const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

export function encodeBase64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** Strict decode: returns null for characters outside the alphabet or an impossible length. */
export function decodeBase64url(text: string): Buffer | null {
  if (!B64URL.test(text)) return null;
  const bare = text.replace(/=+$/, '');
  if (bare.length % 4 === 1) return null;
  return Buffer.from(bare, 'base64url');
}
