// The privacy officer's tools in a real headless Chromium: after a
// practitioner breaks glass on a child of another agency, the privacy officer
// sees the notice (header, My work, Notices), finds the child and lands on who
// viewed it (with the reason given), filters the access log by user and a date
// typed as people type it, downloads it as CSV, and reads every page in words
// with no serious axe violation and no sideways scrolling at 320 px.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { App, seriousViolations, screenshot, machineText, horizontalOverflow } from './support.mjs';

let app;

before(async () => { app = await App.start(); });
after(async () => { await app?.stop(); });

const REASON = 'Synthetic: the child was seen at the walk-in centre this evening';

async function assertReadable(page, what) {
  const violations = await seriousViolations(page);
  assert.deepEqual(violations, [], `${what}: axe found serious or critical violations`);
  assert.deepEqual(page.cspViolations, [], `${what}: the page broke its CSP`);
  assert.deepEqual(await machineText(page, app.agencyIds), [], `${what}: machine text on the page`);
}

async function search(page, child) {
  await page.goto('/search');
  await page.fill('#name', child.name);
  await page.fill('#dob', child.dob);
  await page.click('button:has-text("Search")');
  await page.waitForURL('**/search?**');
}

test('the privacy officer is told of break glass, finds the child, sees who viewed it and why, and filters and exports the log', async () => {
  // A practitioner breaks glass on a child only another agency knows.
  const worker = await app.page();
  await app.signIn(worker, 'practitioner');
  await search(worker, app.unrelatedChild);
  await worker.locator('.result').first().locator('a').first().click();
  await worker.waitForURL('**/children/p-*');
  const childPath = new URL(worker.url()).pathname;
  await worker.fill('#reason', REASON);
  await worker.click('button:has-text("Break glass")');
  await worker.waitForURL(`**${childPath}`);
  await worker.context().close();

  const page = await app.page();
  await app.signIn(page, 'privacy_officer');
  // Told on My work and in the header.
  const notices = page.locator('.work-notices');
  assert.match(await notices.textContent(), /\b[1-9]\d* notices? of new access in the last 7 days/);
  assert.equal(await page.locator('header a[href="/notices"]').count(), 1);
  await page.click('header a[href="/notices"]');
  await page.waitForURL('**/notices');
  const noticeRow = page.locator('tbody tr', { hasText: REASON });
  assert.equal(await noticeRow.count(), 1, 'the break-glass notice with its reason');
  assert.match(await noticeRow.textContent(), /demo\.practitioner/);
  assert.equal(await noticeRow.locator(`a[href="/privacy${childPath}"]`).count(), 1, 'the child links to who viewed it');
  await assertReadable(page, 'notices');
  await screenshot(page, 'privacy-notices');

  // Find a child leads to who viewed the child, not to the child.
  await page.click('header a[href="/search"]');
  await page.waitForURL('**/search');
  await search(page, app.unrelatedChild);
  const result = page.locator('.result').first();
  const familyName = app.unrelatedChild.name.split(' ').pop();
  assert.match(await result.textContent(), new RegExp(familyName));
  await assertReadable(page, 'search (privacy officer)');
  await result.locator('h3 a').click();
  await page.waitForURL(`**/privacy${childPath}`);
  assert.equal(await page.locator('h1').textContent(), 'Who viewed this child');
  const viewers = await page.locator('main').textContent();
  assert.match(viewers, /demo\.practitioner/);
  assert.match(viewers, new RegExp(`break glass: “${REASON}”`), 'the reason beside the reads made under the grant');
  assert.doesNotMatch(viewers, new RegExp(familyName), 'no case content, not even the name');
  await assertReadable(page, 'who viewed this child');
  await screenshot(page, 'privacy-who-viewed');

  // The access log: filter by user and a date typed as people type it.
  await page.click('header a[href="/privacy/access-log"]');
  await page.waitForURL('**/privacy/access-log');
  assert.match(await page.locator('#flags-heading').textContent(), /Unusual patterns in the last 7 days/);
  await assertReadable(page, 'access log');
  await screenshot(page, 'privacy-access-log');
  const today = new Date().toLocaleDateString('en-GB', { timeZone: 'Europe/London', day: '2-digit', month: '2-digit', year: 'numeric' });
  await page.fill('#user', 'demo.practitioner');
  await page.selectOption('#action', 'break_glass');
  await page.fill('#from', today);
  await page.fill('#to', today);
  await page.click('button:has-text("Apply filters")');
  await page.waitForURL('**/privacy/access-log?**');
  const rows = page.locator('table tbody tr', { hasText: 'broke glass' });
  assert.equal(await rows.count(), 1, 'the one grant of today');
  assert.match(await rows.first().textContent(), new RegExp(REASON));
  await assertReadable(page, 'access log (filtered)');

  // The CSV of the filtered log: the same entry, machine formats.
  const href = await page.locator('a[download]').first().getAttribute('href');
  assert.match(href, /access-log\.csv\?user=demo\.practitioner&action=break_glass/);
  const csv = await page.request.get(href);
  assert.equal(csv.status(), 200);
  assert.match(csv.headers()['content-type'], /^text\/csv/);
  const lines = (await csv.text()).split('\r\n').filter(Boolean);
  assert.match(lines[0], /^seq,at_utc,username,role,agency,action,/);
  assert.equal(lines.length, 2, 'a header and the grant');
  assert.match(lines[1], /demo\.practitioner,practitioner,police,break_glass,/);

  // A bad date is a clear error, not an empty log.
  await page.fill('#from', '31/02/2026');
  await page.click('button:has-text("Apply filters")');
  await page.waitForURL('**/privacy/access-log?**');
  assert.match(await page.locator('.error-summary').textContent(), /The start date must be a real date/);

  // Small screens: nothing scrolls sideways.
  await page.setViewportSize({ width: 320, height: 800 });
  for (const path of ['/privacy/access-log', `/privacy${childPath}`, '/notices']) {
    await page.goto(path);
    const overflow = await horizontalOverflow(page);
    assert.equal(overflow.scrolls, false, `${path} scrolls sideways at 320 px: ${overflow.wide.join(', ')}`);
  }
  await page.context().close();
});
