/**
 * Configuration: defaults → a JSON config file (`PERSONA_CONFIG`) → environment variables, validated at
 * start. Errors name the setting and where its bad value came from, never the value of a secret.
 */
import { readFileSync } from 'node:fs';
import { EXAMPLES, localOrigin, TIERS } from '../topology/index.ts';
import {
  PORT_SETTINGS,
  settings,
  type Config,
  type GivenConfig,
  type Setting,
  type SettingName,
} from './settings.ts';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function fromEnv(s: Setting, raw: string): unknown {
  switch (s.kind) {
    case 'string':
      return raw;
    case 'int':
      return /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off|)$/i.test(raw)) return false;
      return raw;
    case 'list':
      return raw
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean);
    case 'json':
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        throw new ConfigError(`${s.env}: not valid JSON`);
      }
  }
}

function readFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `PERSONA_CONFIG: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(`PERSONA_CONFIG: ${path} is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`PERSONA_CONFIG: ${path} must hold a JSON object`);
  }
  const unknown = Object.keys(parsed).filter((key) => !(key in settings));
  if (unknown.length > 0)
    throw new ConfigError(`PERSONA_CONFIG: ${path} has unknown settings: ${unknown.join(', ')}`);
  return parsed as Record<string, unknown>;
}

export interface LoadOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Values that win over everything (tests, the supervisor). */
  readonly overrides?: Partial<Record<SettingName, unknown>>;
  /**
   * The tiers this process runs, when it knows: production needs SMTP only where mail is sent (the
   * dbwriter). Absent means any tier, so the requirement holds.
   */
  readonly tiers?: readonly string[];
}

export function loadConfig({ env = process.env, overrides = {}, tiers }: LoadOptions = {}): Config {
  const file = env.PERSONA_CONFIG ? readFile(env.PERSONA_CONFIG) : {};
  const config: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, s] of Object.entries(settings) as [SettingName, Setting][]) {
    let value: unknown = s.default;
    let source = 'default';
    if (name in file) {
      value = file[name];
      source = `${String(env.PERSONA_CONFIG)} (${name})`;
    }
    const raw = env[s.env];
    if (raw !== undefined) {
      value = fromEnv(s, raw);
      source = s.env;
    }
    if (name in overrides) {
      value = overrides[name];
      source = `override of ${name}`;
    }
    const parsed = s.schema.safeParse(value);
    if (parsed.success) config[name] = parsed.data;
    else {
      const why = parsed.error.issues.map((issue) => issue.message).join('; ');
      problems.push(
        s.secret ? `${source}: invalid value` : `${source}: ${why} (got ${JSON.stringify(value)})`,
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  const result = resolve(config as GivenConfig);
  if (result.env === 'production') {
    const devOnly = [
      ...(['fakeVerification', 'devMailbox'] as const).filter((name) => result[name]),
      ...(Object.keys(result.shimmedPrimaries).length > 0 ? (['shimmedPrimaries'] as const) : []),
    ];
    if (devOnly.length > 0) {
      throw new ConfigError(
        `invalid configuration: ${devOnly.map((n) => settings[n].env).join(', ')} may not be enabled with PERSONA_ENV=production`,
      );
    }
    // Without SMTP, mail goes to the console and the development mailbox: live links in logs and on disk.
    if (result.smtpUrl === '' && (tiers === undefined || tiers.includes('dbwriter'))) {
      throw new ConfigError(
        `invalid configuration: ${settings.smtpUrl.env} must be set with PERSONA_ENV=production (without it, verification links would be printed instead of mailed)`,
      );
    }
  }
  return result;
}

/**
 * Fills what follows from other settings: unset ports from the port base and the topology's offsets, an
 * empty public URL from the router's address, so one setting moves the whole local stack.
 */
function resolve(given: GivenConfig): Config {
  const ports: Record<string, number> = {};
  for (const [owner, name] of Object.entries(PORT_SETTINGS)) {
    const offset =
      owner in TIERS
        ? TIERS[owner as keyof typeof TIERS].portOffset
        : EXAMPLES[owner as keyof typeof EXAMPLES].portOffset;
    const port = given[name] ?? given.portBase + offset;
    if (port > 65_535)
      throw new ConfigError(
        `invalid configuration: PERSONA_PORT_BASE ${given.portBase} puts the ${owner} port past 65535`,
      );
    ports[name] = port;
  }
  const resolved = { ...given, ...ports } as Config;
  if (resolved.publicUrl !== '') return resolved;
  return { ...resolved, publicUrl: localOrigin(given.host, resolved.routerPort) };
}

/** The configuration with secrets masked, for logs and `persona config`. */
export function describeConfig(config: Config): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([name, value]) => [
      name,
      settings[name as SettingName].secret && value !== '' ? '(set, not shown)' : value,
    ]),
  );
}
