// A real OpenID Connect provider (panva's oidc-provider) for the browser tests, on 127.0.0.1.
// Clients register themselves (RFC 7591, open registration); anyone signs in with any login, which becomes
// their email. POST /_control/mode {"mode": "wrong-signature" | "wrong-audience" | "normal"} makes the token
// endpoint return an ID token signed by a key the provider never published, or addressed to another client.
// Usage: node server.mjs <port>
import * as jose from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const issuer = `http://127.0.0.1:${port}`;

const signing = await jose.generateKeyPair('RS256', { extractable: true });
const rogue = await jose.generateKeyPair('RS256', { extractable: true });
const kid = 'test-signing-key';
const jwk = { ...(await jose.exportJWK(signing.privateKey)), kid, alg: 'RS256', use: 'sig' };
let mode = 'normal';

const provider = new Provider(issuer, {
  jwks: { keys: [jwk] },
  features: {
    devInteractions: { enabled: true },
    registration: { enabled: true },
  },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, email: id, email_verified: true, name: id }),
  }),
  // Consent is the IdP admin's business in production; here every client is first-party.
  loadExistingGrant: async (ctx) => {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile');
    grant.addOIDCClaims(['email', 'email_verified', 'name']);
    await grant.save();
    return grant;
  },
  cookies: { keys: ['test-cookie-key-not-secret'] },
});

async function readJson(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return JSON.parse(body || '{}');
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/_control/mode' && ctx.method === 'POST') {
    mode = (await readJson(ctx.req)).mode;
    ctx.body = { mode };
    return;
  }
  if (ctx.path === '/_control/health') {
    ctx.body = { ok: true };
    return;
  }
  await next();
  if (ctx.path === '/token' && ctx.status === 200 && mode !== 'normal' && ctx.body && ctx.body.id_token) {
    const claims = jose.decodeJwt(ctx.body.id_token);
    if (mode === 'wrong-audience') claims.aud = 'another-client';
    const key = mode === 'wrong-signature' ? rogue.privateKey : signing.privateKey;
    const idToken = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(key);
    ctx.body = { ...ctx.body, id_token: idToken };
  }
});

provider.listen(port, '127.0.0.1', () => console.log(`oidc provider listening on ${issuer}`));
