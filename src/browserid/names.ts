/** Syntax of the names BrowserID deals in: email addresses and DNS hostnames. */

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
// RFC 5322 atext plus dots between atoms; no quoted local parts (the original refused them too).
const LOCAL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/i;

/** A DNS name of dot-separated labels (or a dotted-quad), at most 253 characters. */
export function isHostname(name: unknown): name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 253) return false;
  if (IPV4.test(name)) return true;
  return name.split('.').every((label) => LABEL.test(label));
}

/** A domain an email can live at: a hostname with at least two labels, not a bare IP. */
export function isEmailDomain(name: string): boolean {
  return (
    isHostname(name) &&
    name.includes('.') &&
    !IPV4.test(name) &&
    !/^\d+$/.test(name.slice(name.lastIndexOf('.') + 1))
  );
}

/** An address of the form local@domain, at most 254 characters (64 for the local part). */
export function isEmail(address: unknown): address is string {
  if (typeof address !== 'string' || address.length > 254) return false;
  const at = address.lastIndexOf('@');
  if (at < 1 || at > 64) return false;
  return LOCAL.test(address.slice(0, at)) && isEmailDomain(address.slice(at + 1));
}

/** The domain of a valid address, lower-cased. */
export function emailDomain(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}
