// Sign-in with an OpenID Connect provider in a real headless Chromium, against
// a real provider on loopback (the npm package oidc-provider, its development
// login and consent pages): Sightline's passwords are off, the login page shows
// only the provider, a user whose app roles map to a police practitioner signs
// in and lands on My work as that role and agency. Refused, each with its page:
// the same callback again (a replayed state), a user whose roles map to no
// Sightline role, an ID token of another issuer and an expired ID token (both
// signed with the provider's own key).
//
// The provider listens on localhost and Sightline on 127.0.0.1: two sites, so
// the callback is the cross-site navigation it is in a real deployment.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as signWith } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Provider from 'oidc-provider';
import { App, freePort, seriousViolations } from './support.mjs';

const SECRET = 'synthetic-e2e-client-secret-0123456789abcdef';
// The provider's users: login name -> the app roles it grants.
const USERS = {
  'ada.police': ['Sightline.Police.Practitioner', 'Staff'],
  'bob.nobody': ['Staff'],
};
// Sightline's providers: the one that works, and two whose client the
// provider below answers with a re-signed ID token.
const CLIENTS = { test: 'sightline', wrongiss: 'sightline-wrong-issuer', expired: 'sightline-expired' };

let app;
let provider;
let providerServer;
let dir;
// User info answers the provider gave (Sightline asks when `userinfo = true`).
let userInfoServed = 0;

/** `jwt` with `change` made to its claims, signed again with `key` (its
 * header, and so its key id, unchanged). */
function resigned(jwt, change, key) {
  const [header, payload] = jwt.split('.');
  const claims = { ...JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')), ...change };
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${signWith('sha256', Buffer.from(input), key).toString('base64url')}`;
}

before(async () => {
  const sightlinePort = await freePort();
  const providerPort = await freePort();
  const base = `http://127.0.0.1:${sightlinePort}`;
  const issuer = `http://localhost:${providerPort}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  provider = new Provider(issuer, {
    clients: Object.values(CLIENTS).map((clientId) => ({
      client_id: clientId,
      client_secret: SECRET,
      redirect_uris: [`${base}/login/oidc/callback`],
      response_types: ['code'],
      grant_types: ['authorization_code'],
    })),
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'e2e', alg: 'RS256', use: 'sig' }] },
    claims: { openid: ['sub'], profile: ['name', 'roles'] },
    // The profile scope's claims in the ID token (as Entra ID gives app roles).
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, name: 'Synthetic user', roles: USERS[id] || [] };
        },
      };
    },
    features: { devInteractions: { enabled: true } },
  });
  // Two clients get an ID token changed after the provider made it: another
  // issuer, or an expiry an hour ago; still signed with the provider's key.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/me' && ctx.status === 200) userInfoServed += 1;
    if (ctx.path !== '/token' || !ctx.body || typeof ctx.body.id_token !== 'string') return;
    const audience = JSON.parse(Buffer.from(ctx.body.id_token.split('.')[1], 'base64url').toString('utf8')).aud;
    const now = Math.floor(Date.now() / 1000);
    if (audience === CLIENTS.wrongiss) {
      ctx.body = { ...ctx.body, id_token: resigned(ctx.body.id_token, { iss: 'http://localhost:1/another-issuer' }, privateKey) };
    } else if (audience === CLIENTS.expired) {
      ctx.body = { ...ctx.body, id_token: resigned(ctx.body.id_token, { iat: now - 7200, exp: now - 3600 }, privateKey) };
    }
  });
  providerServer = provider.listen(providerPort);

  dir = mkdtempSync(join(tmpdir(), 'sightline-e2e-oidc-'));
  const signIn = join(dir, 'sign-in.toml');
  // The working provider also reads the user info endpoint (as the CIS2
  // preset does) and asks for an authentication context (acr_values).
  const providerTable = (name, clientId, label, extra = '') => `
[[provider]]
name = "${name}"
label = "${label}"
issuer = "${issuer}"
client_id = "${clientId}"
client_secret_env = "SIGHTLINE_E2E_OIDC_SECRET"
clock_skew_seconds = 0
${extra}

[[provider.role]]
value = "Sightline.Police.Practitioner"
role = "practitioner"
agency = "police"
`;
  writeFileSync(signIn, `public_url = "${base}"
local_passwords = false
${providerTable('test', CLIENTS.test, 'Sign in with the test provider', 'userinfo = true\nacr_values = "urn:sightline:e2e:loa2"')}
${providerTable('wrongiss', CLIENTS.wrongiss, 'Sign in (another issuer)')}
${providerTable('expired', CLIENTS.expired, 'Sign in (expired token)')}
`);
  app = await App.start({
    port: sightlinePort,
    serveArgs: ['--sign-in', signIn],
    env: { SIGHTLINE_E2E_OIDC_SECRET: SECRET },
  });
});

after(async () => {
  await app?.stop();
  await new Promise((resolve) => (providerServer ? providerServer.close(resolve) : resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Signs in at the provider as `login` through its development pages, from
 * Sightline's login page and `button`; the URL of Sightline's callback. */
async function signInAtProvider(page, button, login) {
  let callback = null;
  page.authorizeUrl = null;
  page.on('request', (request) => {
    if (request.url().includes('/login/oidc/callback')) callback = request.url();
    if (request.url().includes('/auth?')) page.authorizeUrl ??= request.url();
  });
  await page.goto('/login');
  await page.click(`#sign-in-${button}`);
  await page.waitForSelector('input[name=login]');
  // The pre-session the sign-in is bound to (for the replay below).
  page.preSession = (await page.context().cookies(app.base)).find((cookie) => cookie.name === 'sightline_presession');
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', 'any password');
  await page.click('button[type=submit]');
  // The consent page.
  await page.waitForSelector('button:has-text("Continue")');
  await page.click('button:has-text("Continue")');
  // Back at Sightline: the callback's page (a refusal, or the signed-in page
  // on its way to My work) or My work.
  await page.waitForURL(/\/login\/oidc\/callback|\/my-work$/);
  await page.waitForLoadState('load');
  return callback;
}

test('the login page offers only the provider when passwords are off', async () => {
  const page = await app.page();
  const response = await page.goto('/login');
  assert.equal(response.status(), 200);
  assert.equal(await page.locator('input[name=password]').count(), 0, 'no password form');
  assert.equal(await page.locator('#sign-in-test').textContent(), 'Sign in with the test provider');
  assert.deepEqual(await seriousViolations(page), [], 'login page: axe found serious or critical violations');
  assert.deepEqual(page.cspViolations, []);
  await page.context().close();
});

test('a user the provider gives a mapped role signs in and lands on My work as a police practitioner; the callback again is refused', async () => {
  const page = await app.page();
  const callback = await signInAtProvider(page, 'test', 'ada.police');
  assert.ok(callback, 'the browser came back to the callback');
  // The authorisation request: code flow, PKCE S256, state, nonce, acr_values.
  const authorize = new URL(page.authorizeUrl);
  assert.equal(authorize.searchParams.get('response_type'), 'code');
  assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
  assert.ok(authorize.searchParams.get('state') && authorize.searchParams.get('nonce'));
  assert.equal(authorize.searchParams.get('acr_values'), 'urn:sightline:e2e:loa2');
  assert.equal(userInfoServed, 1, 'Sightline read the user info endpoint once');
  await page.waitForURL('**/my-work');
  assert.equal(await page.locator('h1').first().textContent(), 'My work');
  const who = await page.locator('.header__who').textContent();
  assert.match(who, /^oidc-test-[0-9a-f]{24}/, who);
  const role = await page.locator('.header__role').textContent();
  assert.match(role, /Practitioner/, role);
  assert.match(role, new RegExp(app.agencyNames.police || 'police'), role);
  assert.deepEqual(page.cspViolations, []);

  // The same callback again, from the same browser with the same pre-session
  // (Sightline cleared it at sign-in; put back): the state was used, refused
  // before the code is sent to the provider again.
  assert.ok(page.preSession, 'a pre-session cookie was set');
  await page.context().addCookies([{ name: page.preSession.name, value: page.preSession.value, url: app.base }]);
  const replayed = await page.goto(callback);
  assert.equal(replayed.status(), 403);
  assert.match(await page.locator('h1').textContent(), /This sign-in has expired/);
  // Still signed in from the first time: the replay changed nothing.
  await page.goto('/my-work');
  assert.match(page.url(), /\/my-work$/);

  // Signing in again (the provider remembers the user) gives the same account.
  const again = await app.page();
  await signInAtProvider(again, 'test', 'ada.police');
  await again.waitForURL('**/my-work');
  assert.equal(await again.locator('.header__who').textContent(), who);
  await page.context().close();
  await again.context().close();
});

test('a user whose roles map to no Sightline role is refused with a clear page', async () => {
  const page = await app.page();
  await signInAtProvider(page, 'test', 'bob.nobody');
  await page.waitForSelector('h1');
  assert.match(await page.locator('h1').textContent(), /You do not have a role in Sightline/);
  assert.match(page.url(), /\/login\/oidc\/callback/);
  assert.deepEqual(await seriousViolations(page), [], 'refusal page: axe found serious or critical violations');
  // Not signed in.
  await page.goto('/my-work');
  assert.match(page.url(), /\/login$/);
  await page.context().close();
});

test('an ID token of another issuer and an expired ID token are refused', async () => {
  for (const [button, kind] of [['wrongiss', 'InvalidIssuer'], ['expired', 'Expired']]) {
    const page = await app.page();
    await signInAtProvider(page, button, 'ada.police');
    await page.waitForSelector('h1');
    assert.match(await page.locator('h1').textContent(), /Your sign-in could not be checked/, button);
    await page.goto('/my-work');
    assert.match(page.url(), /\/login$/, `${button}: not signed in`);
    // Refused for the reason meant, not another.
    const log = app.serverLog.replace(/\x1b\[[0-9;]*m/g, '');
    assert.match(log, new RegExp(`provider="?${button}"?.*ID token: ${kind}|ID token: ${kind}.*provider="?${button}"?`), `${button}: the log names ${kind}`);
    await page.context().close();
  }
});
