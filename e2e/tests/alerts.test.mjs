// Alerts in a real headless Chromium: the duty worker opens My work, opens an
// alert, records a decision with the keyboard alone and sees the alert leave the
// list; the child's timeline then marks the decision. axe-core on every page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { App, seriousViolations, screenshot } from './support.mjs';

let app;

/** The date `days` from today, as a person types it: "9 December 2026". */
function inDays(days) {
  const day = new Date(Date.now() + days * 86_400_000);
  return day.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/London' });
}

before(async () => { app = await App.start(); });
after(async () => { await app?.stop(); });

async function assertAccessible(page, what) {
  const violations = await seriousViolations(page);
  assert.deepEqual(violations, [], `${what}: axe found serious or critical violations`);
  assert.deepEqual(page.cspViolations, [], `${what}: the page broke its CSP`);
}

test('the duty worker decides an alert with the keyboard and it leaves My work', async () => {
  const page = await app.page();
  await app.signIn(page, 'duty');
  const rows = page.locator('table.alerts tbody tr');
  const before = await rows.count();
  assert.ok(before > 0, 'intake raised alerts routed to the duty team');
  await assertAccessible(page, 'my work with alerts');
  await screenshot(page, 'my-work');

  const link = rows.first().locator('td:nth-child(2) a');
  const href = await link.getAttribute('href');
  await link.click();
  await page.waitForURL(`**${href}`);
  assert.match(await page.locator('main').textContent(), /Why Sightline raised this/);
  assert.ok(await page.locator('text=Evidence').count() > 0);
  const evidence = await page.locator('main table').first().locator('tbody tr').count();
  assert.ok(evidence > 0, 'the evidence records are listed');
  await assertAccessible(page, 'alert');
  await screenshot(page, 'alert');

  // A decision without a reason is refused and says why.
  await page.click('button:has-text("Record decision")');
  assert.match(await page.locator('.error-summary').textContent(), /Select a decision/);
  assert.match(await page.locator('.error-summary').textContent(), /Enter the reason/);
  await assertAccessible(page, 'alert with errors');

  // Keyboard only: the first radio (a strategy discussion), the reason, who
  // will hold it (the worker, already selected) and by when, the button.
  await page.focus('#decision');
  await page.keyboard.press('Space');
  assert.equal(await page.locator('#decision').isChecked(), true);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'reason');
  await page.keyboard.type('Synthetic: two agencies report injuries; convening a strategy discussion.');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'follow_up_owner');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'follow_up_due');
  await page.keyboard.type(inDays(2));
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Record decision');
  await page.keyboard.press('Enter');
  await page.waitForURL('**/my-work?decided=*');
  assert.match(await page.locator('.notification-banner').textContent(), /Your decision was recorded/);
  assert.equal(await page.locator(`table.alerts a[href="${href}"]`).count(), 0, 'the decided alert left the list');
  assert.equal(await page.locator('table.alerts tbody tr').count(), before - 1);
  await assertAccessible(page, 'my work after a decision');

  // The alert's history and the child's timeline show the decision.
  await page.goto(href);
  assert.match(await page.locator('main').textContent(), /Decided: Strategy discussion/);
  assert.equal(await page.locator('button:has-text("Record decision")').count(), 0);
  await page.click('main a:has-text("chronology")');
  await page.waitForURL('**/chronology');
  assert.match(await page.locator('svg.timeline').innerHTML(), /decision strategy discussion/);
  await page.context().close();
});

test('My work lists the statutory clocks of the agency\'s children, overdue first, and the child page shows them', async () => {
  const page = await app.page();
  await app.signIn(page, 'duty');
  assert.equal(await page.locator('#clocks-heading').textContent(), 'Statutory clocks due soon');
  const clocks = page.locator('table.clocks tbody tr');
  assert.ok(await clocks.count() > 0, 'the synthetic region has statutory clocks overdue or due soon');
  const statuses = await clocks.locator('td:last-child .tag').allTextContents();
  const firstRunning = statuses.indexOf('Running');
  if (firstRunning >= 0) {
    assert.ok(statuses.slice(firstRunning).every((status) => status === 'Running'), `overdue first: ${statuses}`);
  }
  assert.match(await clocks.first().locator('td:last-child').textContent(), /Overdue by \d+ working days?|Due in \d+ working days?|Due today/);
  await assertAccessible(page, 'my work with clocks');

  const child = clocks.first().locator('td:nth-child(2) a');
  const href = await child.getAttribute('href');
  await child.click();
  await page.waitForURL(`**${href}`);
  assert.equal(await page.locator('#clocks-heading').textContent(), 'Statutory clocks');
  const childClocks = await page.locator('table.clocks tbody tr').count();
  assert.ok(childClocks > 0, 'the child page lists the child\'s clocks');
  await assertAccessible(page, 'child page with clocks');
  await screenshot(page, 'child-clocks');
  await page.context().close();
});
