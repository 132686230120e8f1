/** `persona drill database`: see docs/database-ha.md. */
export function drillCommand(_args: string[]): Promise<number> {
  process.stderr.write('persona drill: not built yet\n');
  return Promise.resolve(2);
}
