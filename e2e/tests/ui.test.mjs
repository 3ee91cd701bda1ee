// Sightline's web UI in a real headless Chromium: sign in, My work, sign out,
// lock-out, CSRF, anonymous redirects, keyboard-only sign-in, the minimal view
// and break glass, the privacy officer's access log, administration, and axe-core
// on every page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { App, seriousViolations, screenshot, sightlineBinary } from './support.mjs';

let app;

before(async () => { app = await App.start(); });
after(async () => { await app?.stop(); });

async function assertAccessible(page, what) {
  const violations = await seriousViolations(page);
  assert.deepEqual(violations, [], `${what}: axe found serious or critical violations`);
  assert.deepEqual(page.cspViolations, [], `${what}: the page broke its CSP`);
}

test('an anonymous visit is redirected to the login page', async () => {
  const page = await app.page();
  for (const path of ['/', '/my-work', '/admin/users', '/privacy/access-log', app.otherAgencyRecord]) {
    await page.goto(path);
    assert.match(page.url(), /\/login$/, path);
  }
  await assertAccessible(page, 'login');
  await screenshot(page, 'login');
  await page.context().close();
});

test('a practitioner signs in, sees My work, and signs out', async () => {
  const page = await app.page();
  await app.signIn(page, 'practitioner');
  assert.equal(await page.locator('h1').textContent(), 'My work');
  assert.match(await page.locator('#alerts-heading').textContent(), /Alerts for you and your team/);
  const rows = await page.locator('table tbody tr').count();
  assert.ok(rows > 0, 'the newest police records are listed');
  const cookies = await page.context().cookies();
  const session = cookies.find((cookie) => cookie.name === 'sightline_session');
  assert.ok(session.httpOnly, 'session cookie is HttpOnly');
  assert.equal(session.sameSite, 'Strict');
  await assertAccessible(page, 'my work');
  await screenshot(page, 'my-work-records');

  // An own-agency record, in full.
  await page.locator('table tbody tr a').first().click();
  assert.match(await page.locator('body').textContent(), /You can see this record because your agency sent the record/);
  await assertAccessible(page, 'record (full)');

  await page.click('text=Sign out');
  await page.waitForURL('**/login?signed_out=1');
  assert.match(await page.locator('.notification-banner').textContent(), /You have signed out/);
  await assertAccessible(page, 'signed out');
  await page.goto('/my-work');
  assert.match(page.url(), /\/login$/, 'the session ended');
  await page.context().close();
});

test('signing in works with the keyboard alone', async () => {
  const page = await app.page();
  const { username, password } = app.accounts.safeguarding_lead;
  await page.goto('/login');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to main content');
  // Through the header link to the username field.
  for (let presses = 0; presses < 10; presses += 1) {
    if (await page.evaluate(() => document.activeElement.id) === 'username') break;
    await page.keyboard.press('Tab');
  }
  assert.equal(await page.evaluate(() => document.activeElement.id), 'username');
  await page.keyboard.type(username);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'password');
  await page.keyboard.type(password);
  await page.keyboard.press('Enter');
  await page.waitForURL('**/my-work');
  assert.equal(await page.locator('h1').textContent(), 'My work');
  await page.context().close();
});

test('repeated failures make the username wait a little, known or not, with the same answer, then its owner signs in', async () => {
  const page = await app.page();
  const known = app.accounts.team_manager;
  for (const username of [known.username, 'demo.nobody']) {
    for (let attempt = 1; attempt <= 6; attempt += 1) {
      await page.goto('/login');
      await page.fill('#username', username);
      await page.fill('#password', 'not the password 123');
      await page.click('button[type=submit]');
      const summary = await page.locator('.error-summary').textContent();
      // Five free failures, then a delay of a second (doubling with each
      // further failure, at most a minute), not a lock.
      if (attempt < 6) assert.match(summary, /Enter a correct username and password/);
      else assert.match(summary, /too many attempts to sign in\. Try again in 1 second\./);
    }
  }
  await assertAccessible(page, 'login with an error');
  // Once the delay has passed the owner signs in (the old lock lasted 15 minutes).
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  await page.goto('/login');
  await page.fill('#username', known.username);
  await page.fill('#password', known.password);
  await page.click('button[type=submit]');
  await page.waitForURL('**/my-work');
  assert.equal(await page.locator('h1').textContent(), 'My work');
  await page.context().close();
});

test('a form with a wrong CSRF token is refused and changes nothing', async () => {
  const page = await app.page();
  await app.signIn(page, 'administrator');
  await page.goto('/admin/users');
  await page.evaluate(() => {
    for (const input of document.querySelectorAll('input[name=csrf_token]')) input.value = 'forged';
  });
  await page.fill('#username', 'synthetic.forged');
  await page.fill('#password', 'a long synthetic password');
  await page.click('text=Create user');
  assert.equal(await page.locator('h1').textContent(), 'The form could not be sent');
  await assertAccessible(page, 'error page');
  await screenshot(page, 'error');
  await page.goto('/admin/users');
  assert.doesNotMatch(await page.locator('table').textContent(), /synthetic\.forged/);
  await page.context().close();
});

test('an administrator creates a user and an agency token', async () => {
  const page = await app.page();
  await app.signIn(page, 'administrator');
  await page.goto('/admin/users');
  await assertAccessible(page, 'users');
  await page.click('text=Create user');
  assert.match(await page.locator('.error-summary').textContent(), /username is 3 to 64/);
  await assertAccessible(page, 'users with errors');
  await page.fill('#username', 'synthetic.visitor');
  await page.fill('#password', 'a long synthetic password');
  await page.selectOption('#role', 'practitioner');
  await page.fill('#agency', 'health-visiting');
  await page.click('text=Create user');
  // A casework account an administrator creates waits for its agency's
  // manager or lead to activate it (issue #15, finding 10).
  await page.waitForURL('**/admin/users?created=inactive');
  assert.match(await page.locator('.notification-banner__heading').textContent(), /must activate the account/);
  assert.match(await page.locator('table').textContent(), /synthetic\.visitor/);
  await screenshot(page, 'admin-users');

  await page.goto('/admin/tokens');
  await page.fill('#agency', 'school-1');
  await page.click('text=Create token');
  assert.match(await page.locator('#new-token').textContent(), /^slt_[0-9a-f]{64}$/);
  await assertAccessible(page, 'tokens');
  await screenshot(page, 'admin-tokens');
  // Administrators see no case records.
  await page.goto(app.otherAgencyRecord);
  assert.equal(await page.locator('h1').textContent(), 'You cannot use this page');
  await page.context().close();
});

test('another agency\'s record: minimal view, then break glass, seen by the privacy officer', async () => {
  const page = await app.page();
  await app.signIn(page, 'practitioner');
  await page.goto(app.otherAgencyRecord);
  assert.match(await page.locator('.warning-text').textContent(), /belongs to another agency/);
  assert.equal(await page.locator('.record-body').count(), 0, 'no content in the minimal view');
  await assertAccessible(page, 'record (minimal)');
  await screenshot(page, 'record-minimal');
  await page.click('text=Break glass and view the record');
  assert.match(await page.locator('.error-summary').textContent(), /at least 20 characters/);
  await assertAccessible(page, 'break glass with an error');
  await page.fill('#reason', 'Synthetic: the child was brought to the emergency department tonight');
  await page.click('text=Break glass and view the record');
  assert.ok(await page.locator('.summary-list').count() >= 1, 'the record as a summary list');
  assert.match(await page.locator('body').textContent(), /You can see this record because you broke glass/);
  await page.context().close();

  const privacy = await app.page();
  await app.signIn(privacy, 'privacy_officer');
  await privacy.goto('/privacy/access-log');
  const log = await privacy.locator('main').textContent();
  assert.match(log, /the child was brought to the emergency department tonight/);
  assert.match(log, /demo\.practitioner/);
  assert.equal(await privacy.locator('.record-body').count(), 0);
  await assertAccessible(privacy, 'access log');
  await screenshot(privacy, 'access-log');
  // The privacy officer cannot open the record itself.
  await privacy.goto(app.otherAgencyRecord);
  assert.equal(await privacy.locator('h1').textContent(), 'You cannot use this page');
  await privacy.context().close();
});

test('the audit chain verifies after the run', async () => {
  const output = execFileSync(sightlineBinary(), ['audit', 'verify', '--db', app.db], { encoding: 'utf8' });
  assert.match(output, /audit chain intact/);
});
