/**
 * Session ops (reference/persona.md §2.2, §5.1–5.3): the context the dialog starts from, signing out,
 * prolonging, the account's addresses, the KPI sink and the database ping.
 */
import { randomBytes } from 'node:crypto';
import { ServiceError } from '../../http/errors.ts';
import { newCsrfToken, type HandlersOf } from '../../wsapi/framework.ts';
import type { Runtime } from './runtime.ts';

type SessionOp =
  'session_context' | 'logout' | 'prolong_session' | 'list_emails' | 'interaction_data' | 'ping';

/** The dialog sets this cookie from JavaScript to learn whether cookies work at all (persona #2999). */
const hasCookieProbe = (header: string | undefined): boolean =>
  header !== undefined && /(?:^|;)\s*can_set_cookies=[^;]/.test(header);

export function sessionHandlers(rt: Runtime): HandlersOf<SessionOp> {
  return {
    session_context: async (ctx) => {
      ctx.session.csrf ??= newCsrfToken();
      let authenticated = false;
      let hasPassword = false;
      const { userid } = ctx.session;
      if (userid !== undefined) {
        const auth = await rt.reader.checkAuth(userid);
        if (auth === undefined) {
          // Signed in to an account that no longer exists.
          ctx.logout();
        } else {
          authenticated = true;
          hasPassword = auth.hash !== null;
        }
      }
      return {
        csrf_token: ctx.session.csrf,
        server_time: ctx.now,
        authenticated,
        auth_level: authenticated ? ctx.session.authLevel : undefined,
        has_password: hasPassword,
        domain_key_creation_time: rt.deps.domainKeyCreatedAt,
        // Entropy for key generation in old browsers; safe because only same-origin code reads it (§5.3).
        random_seed: randomBytes(32).toString('base64'),
        // No KPI backend: clients are asked to send nothing.
        data_sample_rate: 0,
        cookies: authenticated || hasCookieProbe(ctx.request.headers.cookie),
        userid: authenticated ? userid : undefined,
      };
    },

    logout: (ctx) => {
      ctx.logout();
      return Promise.resolve({ success: true });
    },

    prolong_session: (ctx) => {
      // "This is my computer": the session starts again at full length, same user and level.
      const { userid, authLevel, lastPasswordReset } = ctx.session;
      if (userid !== undefined)
        ctx.authenticate(userid, authLevel ?? 'assertion', lastPasswordReset ?? 0, false);
      return Promise.resolve('OK');
    },

    list_emails: async (ctx) => {
      const userid = ctx.session.userid;
      return { success: true, emails: userid === undefined ? [] : await rt.reader.listEmails(userid) };
    },

    // There is no KPI backend: the arrival is logged, not the entries, which are arbitrary client input.
    interaction_data: (ctx) => {
      const data = ctx.args.data;
      if (Array.isArray(data) && data.length > 0)
        ctx.request.log.info(
          { event: 'interaction_data', entries: data.length },
          'interaction data received',
        );
      return Promise.resolve({ success: true });
    },

    ping: async () => {
      try {
        await rt.reader.ping();
      } catch {
        throw new ServiceError('database-unavailable', 'database unavailable');
      }
      return 'ok';
    },
  };
}
