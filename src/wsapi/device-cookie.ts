/**
 * The device cookie (SPEC §4.11, OWASP "slow down online guessing with device cookies"): a browser where an
 * account signed in with its password carries `persona_device`, which lets that account keep signing in
 * there whatever strangers try elsewhere. Sealed with the session cookie's AES-256-GCM codec (so it cannot
 * be forged or read), as a payload no session has; it names a random device id and the accounts (user ids,
 * at most MAX_ACCOUNTS, most recent first) that signed in from the browser. Sent only to
 * `/wsapi/authenticate_user`, HttpOnly, SameSite=Lax, Secure on https, for a year from the last sign-in.
 */
import { randomBytes } from 'node:crypto';
import type { SessionCodec } from './session.ts';
import { cookieValue } from '../http/cookies.ts';

export const DEVICE_COOKIE_NAME = 'persona_device';
export const DEVICE_COOKIE_PATH = '/wsapi/authenticate_user';
export const DEVICE_COOKIE_LIFETIME_MS = 365 * 86_400_000;
const MAX_ACCOUNTS = 5;
const DEVICE_ID = /^[0-9a-f]{32}$/;

export interface Device {
  readonly id: string;
  readonly userIds: readonly number[];
}

export interface DeviceCookies {
  /** The device named by the request's Cookie header; undefined when absent, forged, garbled or expired. */
  read(cookieHeader: string | undefined, now: number): Device | undefined;
  /** The Set-Cookie value after `userId` signed in: the same device (or a new one) naming it first. */
  issue(device: Device | undefined, userId: number, now: number): string;
}

export function createDeviceCookies(
  codec: SessionCodec,
  { https }: { readonly https: boolean },
): DeviceCookies {
  return {
    read(header, now) {
      const opened = codec.open(cookieValue(header, DEVICE_COOKIE_NAME), now);
      if (opened === null) return undefined;
      // A session cookie opens with the same codec: only the device payload counts.
      const { device, accounts } = opened.session as { device?: unknown; accounts?: unknown };
      if (typeof device !== 'string' || !DEVICE_ID.test(device) || !Array.isArray(accounts)) return undefined;
      const userIds = accounts.filter((a): a is number => Number.isSafeInteger(a) && (a as number) > 0);
      return { id: device, userIds: userIds.slice(0, MAX_ACCOUNTS) };
    },
    issue(device, userId, now) {
      const id = device?.id ?? randomBytes(16).toString('hex');
      const accounts = [userId, ...(device?.userIds ?? []).filter((u) => u !== userId)].slice(
        0,
        MAX_ACCOUNTS,
      );
      // The codec's type is the session's; this payload shares none of its fields.
      const value = codec.seal({ device: id, accounts } as never, now, DEVICE_COOKIE_LIFETIME_MS);
      const attributes = [
        `${DEVICE_COOKIE_NAME}=${value}`,
        `Path=${DEVICE_COOKIE_PATH}`,
        `Max-Age=${DEVICE_COOKIE_LIFETIME_MS / 1000}`,
        'HttpOnly',
        'SameSite=Lax',
      ];
      if (https) attributes.push('Secure');
      return attributes.join('; ');
    },
  };
}
