// The child's pages in a real headless Chromium: search, the child page, the
// chronology with its SVG timeline and CSV export, the minimal view and break
// glass on a child (audited, seen on "who viewed this child"), axe-core on every
// page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { App, seriousViolations, screenshot } from './support.mjs';

let app;

before(async () => { app = await App.start(); });
after(async () => { await app?.stop(); });

async function assertAccessible(page, what) {
  const violations = await seriousViolations(page);
  assert.deepEqual(violations, [], `${what}: axe found serious or critical violations`);
  assert.deepEqual(page.cspViolations, [], `${what}: the page broke its CSP`);
}

async function search(page, child) {
  await page.goto('/search');
  await page.fill('#name', child.name);
  await page.fill('#dob', child.dob);
  await page.click('button:has-text("Search")');
  await page.waitForURL('**/search?**');
}

test('a practitioner finds a child of their work, sees the child and the chronology with its timeline', async () => {
  const page = await app.page();
  await app.signIn(page, 'duty');
  await page.click('text=Find a child');
  assert.equal(await page.locator('h1').textContent(), 'Find a child');
  await assertAccessible(page, 'search form');
  await search(page, app.relatedChild);
  const first = page.locator('.result').first();
  assert.match(await first.textContent(), new RegExp(app.relatedChild.name));
  assert.doesNotMatch(await first.textContent(), /Not part of your work/);
  await assertAccessible(page, 'search results');
  await screenshot(page, 'search');

  await first.locator('a').first().click();
  await page.waitForURL('**/children/p-*');
  assert.equal(await page.locator('h1').textContent(), app.relatedChild.name);
  assert.match(await page.locator('main').textContent(), /You can see this child because (an alert about the child is routed to you or your team|you or your team hold an alert about the child|your agency's record established a relationship with the child)/);
  assert.ok(await page.locator('#people-heading').isVisible());
  assert.ok(await page.locator('.mention').count() >= 1);
  // The match evidence opens without JavaScript (a details element).
  const details = page.locator('details.details').first();
  if (await details.count()) {
    await details.locator('summary').click();
    assert.ok(await details.locator('table').isVisible());
  }
  await assertAccessible(page, 'child');
  await screenshot(page, 'child', { fullPage: false });
  await page.locator('#records-heading').scrollIntoViewIfNeeded();
  await page.evaluate(() => document.getElementById('people-heading').scrollIntoView());
  await screenshot(page, 'child-people-and-records', { fullPage: false });

  await page.click('text=Chronology and timeline');
  await page.waitForURL('**/chronology');
  const svg = page.locator('svg.timeline');
  assert.equal(await svg.getAttribute('role'), 'img');
  assert.match(await svg.locator('title').first().textContent(), /Timeline/);
  assert.match(await svg.locator('desc').textContent(), /records from \d+ agencies/);
  const lanes = await svg.locator('.timeline__lane').count();
  assert.ok(lanes >= 2, `one lane per agency (${lanes})`);
  const rows = await page.locator('table.chronology tbody tr').count();
  assert.ok(rows >= 2, 'the records are listed');
  await assertAccessible(page, 'chronology');
  await screenshot(page, 'chronology', { fullPage: false });

  // Filter by agency with the keyboard: the table and the timeline follow.
  await page.selectOption('#agency', 'social-care');
  await page.focus('button:has-text("Apply filters")');
  await page.keyboard.press('Enter');
  await page.waitForURL('**/chronology?agency=social-care**');
  assert.equal(await page.locator('svg.timeline .timeline__lane').count() >= 1, true);
  // Pages name the agency as the organisation does; the query string and the
  // CSV keep its id.
  const socialCare = app.agencyNames['social-care'];
  assert.ok(socialCare, 'the organisation names social-care');
  for (const cell of await page.locator('table.chronology tbody tr td:nth-child(2)').allTextContents()) {
    assert.ok(cell.startsWith(socialCare), `"${cell}" starts with "${socialCare}"`);
  }
  // The CSV export follows the filter.
  const href = await page.locator('a[download]').getAttribute('href');
  assert.match(href, /chronology\.csv\?agency=social-care/);
  const csv = await page.request.get(href);
  assert.equal(csv.status(), 200);
  assert.match(csv.headers()['content-type'], /^text\/csv/);
  const body = await csv.text();
  assert.match(body.split('\r\n')[0], /^date,occurred,agency/);
  for (const line of body.split('\r\n').slice(1).filter(Boolean)) assert.match(line, /^[0-9-]+,[^,]*,social-care,/);
  await page.context().close();
});

test('a child without a relationship: minimal view, then break glass, audited and seen by the privacy officer', async () => {
  const page = await app.page();
  await app.signIn(page, 'practitioner');
  await search(page, app.unrelatedChild);
  const first = page.locator('.result').first();
  assert.match(await first.textContent(), /Not part of your work/);
  assert.doesNotMatch(await first.textContent(), /Born /, 'no date of birth in the minimal view');
  await first.locator('a').first().click();
  await page.waitForURL('**/children/p-*');
  const childPath = new URL(page.url()).pathname;
  assert.match(await page.locator('.warning-text').textContent(), /not part of your work/);
  assert.equal(await page.locator('.mention').count(), 0, 'no case content');
  await assertAccessible(page, 'child (minimal)');
  await screenshot(page, 'child-minimal');
  await page.goto(`${childPath}/chronology`);
  assert.equal(await page.locator('svg.timeline').count(), 0, 'no chronology without access');

  // Break glass with the keyboard alone.
  await page.focus('#reason');
  await page.keyboard.type('Synthetic: the child was brought to the emergency department tonight');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.waitForURL(`**${childPath}`);
  assert.match(await page.locator('main').textContent(), /You can see this child because you broke glass/);
  await page.goto(`${childPath}/chronology`);
  assert.equal(await page.locator('svg.timeline').count(), 1);
  await page.context().close();

  const privacy = await app.page();
  await app.signIn(privacy, 'privacy_officer');
  await privacy.goto(`/privacy${childPath}`);
  const log = await privacy.locator('main').textContent();
  assert.match(log, /demo\.practitioner/);
  // In words: the view, the outcome and the basis (the reason given).
  assert.match(log, /opened the child's page/);
  assert.match(log, /read the chronology/, "the audit names the view that read the child");
  assert.match(log, /Minimal view only/);
  assert.match(log, /broke glass/);
  assert.match(log, /break glass: Synthetic: the child was brought to the emergency department tonight/);
  assert.doesNotMatch(log, new RegExp(app.unrelatedChild.name), 'no case content, not even the name');
  await assertAccessible(privacy, 'who viewed this child');
  await screenshot(privacy, 'who-viewed');
  // The privacy officer cannot open the child.
  await privacy.goto(childPath);
  assert.equal(await privacy.locator('h1').textContent(), 'You cannot use this page');
  await privacy.context().close();
});
