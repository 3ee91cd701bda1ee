// The duty worker's journey in a real headless Chromium: sign in, open the top
// high alert from My work, read why Sightline raised it and its evidence, record
// a decision that sets a follow-up (who and by when), see the follow-up on My
// work, and record it done. axe-core on every page of the journey at 320, 768
// and 1366 pixels wide.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { App, seriousViolations, screenshot, machineText, horizontalOverflow } from './support.mjs';

let app;

before(async () => { app = await App.start(); });
after(async () => { await app?.stop(); });

const WIDTHS = [320, 768, 1366];

/** Every page of the journey, at each width: no serious or critical axe
 * violation, no sideways scrolling, no raw code, internal id or ISO timestamp
 * in its text, no CSP breach (the page is left at 1366 pixels). */
async function assertAccessible(page, what) {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    const violations = await seriousViolations(page);
    assert.deepEqual(violations, [], `${what} at ${width} px: axe found serious or critical violations`);
    const overflow = await horizontalOverflow(page);
    assert.ok(!overflow.scrolls, `${what} at ${width} px scrolls sideways: ${overflow.wide.join(', ')}`);
    assert.deepEqual(await machineText(page, app.agencyIds), [], `${what} at ${width} px: machine text`);
  }
  await page.setViewportSize({ width: 1366, height: 900 });
  assert.deepEqual(page.cspViolations, [], `${what}: the page broke its CSP`);
}

/** The date `days` from today in England, as a person types it: "9 December 2026". */
function inDays(days) {
  const day = new Date(Date.now() + days * 86_400_000);
  return day.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/London' });
}

test('the duty worker opens the top high alert, decides with a follow-up and records it done', async () => {
  const page = await app.page();
  await page.setViewportSize({ width: 1366, height: 900 });
  await app.signIn(page, 'duty');
  const { username } = app.accounts.duty;

  // My work: the counts at the top, then only the high alerts.
  assert.match(await page.locator('.work-counts').textContent(), /\d+ open alerts?:\s+\d+ overdue/);
  await assertAccessible(page, 'my work');
  await page.selectOption('#severity', 'high');
  await page.click('button:has-text("Apply filters")');
  await page.waitForURL('**/my-work?severity=high*');
  const rows = page.locator('table.alerts tbody tr');
  assert.ok(await rows.count() > 0, 'the duty team holds high alerts');
  const tags = await rows.locator('td:nth-child(2) .tag').allTextContents();
  assert.ok(tags.every((tag) => tag === 'High'), `only high alerts: ${tags}`);
  const top = rows.first();
  const childName = (await top.locator('td:first-child a').textContent()).trim();
  assert.ok(childName.length > 0 && !/^p-/.test(childName), `the row names the child: ${childName}`);
  assert.match(await top.locator('td:nth-child(3)').textContent(), /Overdue by|Due in/);
  await assertAccessible(page, 'my work, high alerts');

  // The alert: why, the guidance and the evidence, the decision form beside it.
  const link = top.locator('td:nth-child(2) a');
  const href = await link.getAttribute('href');
  await link.click();
  await page.waitForURL(`**${href}`);
  assert.match(await page.locator('.caption-l').textContent(), new RegExp(`Alert about ${childName}`));
  const why = page.locator('.explanation');
  assert.ok((await why.textContent()).trim().length > 20, 'why Sightline raised it, in words');
  const evidence = page.locator('.alert-layout__evidence table tbody tr');
  assert.ok(await evidence.count() > 0, 'the evidence records are listed');
  // On a wide screen the decision form is beside the explanation, not below it.
  const whyBox = await page.locator('.alert-layout__why').boundingBox();
  const formBox = await page.locator('.alert-layout__act').boundingBox();
  assert.ok(formBox.x > whyBox.x + whyBox.width / 2, 'the form is to the right of the explanation');
  assert.ok(formBox.y < whyBox.y + whyBox.height, 'and starts beside it');
  await assertAccessible(page, 'alert');
  // On a narrow one it comes straight after the explanation, before the evidence.
  await page.setViewportSize({ width: 320, height: 900 });
  const narrowWhy = await page.locator('.alert-layout__why').boundingBox();
  const narrowForm = await page.locator('.alert-layout__act').boundingBox();
  const narrowEvidence = await page.locator('.alert-layout__evidence').boundingBox();
  assert.ok(narrowWhy.y < narrowForm.y && narrowForm.y < narrowEvidence.y, 'why, then the form, then the evidence');
  await page.setViewportSize({ width: 1366, height: 900 });
  await screenshot(page, 'alert-beside');

  // Read one evidence record, then come back.
  const record = evidence.first().locator('a');
  const recordHref = await record.getAttribute('href');
  await record.click();
  await page.waitForURL(`**${recordHref}`);
  assert.equal(await page.locator('h1').count(), 1);
  // The alert is routed to the worker: its evidence is theirs to read, in
  // full, without breaking glass.
  assert.equal(await page.locator('form[action$="/break-glass"]').count(), 0, 'the evidence opens without break-glass');
  assert.match(await page.locator('main').textContent(), /You can see this record because (an alert about the child is routed to you or your team|your agency sent the record)/);
  assert.ok(await page.locator('main .summary-list').count() > 0, 'the record reads as a summary list');
  await assertAccessible(page, 'an evidence record');
  await page.goBack();
  await page.waitForURL(`**${href}`);

  // A reason of one word is refused, in words.
  await page.check('#decision-visit');
  await page.fill('#reason', 'ok');
  await page.click('button:has-text("Record decision")');
  assert.match(await page.locator('.error-summary').textContent(), /Give the reason in at least a sentence \(20 characters or more\)/);
  assert.match(await page.locator('.error-summary').textContent(), /Enter the date by which it will be done/);
  await assertAccessible(page, 'alert with errors');

  // A visit, by the worker, in three days.
  await page.check('#decision-visit');
  await page.fill('#reason', 'Synthetic: injuries reported by two agencies; visiting the child at home.');
  assert.equal(await page.locator('#follow_up_owner').inputValue(), username, 'who defaults to the worker');
  const due = inDays(3);
  await page.fill('#follow_up_due', due);
  await page.click('button:has-text("Record decision")');
  await page.waitForURL('**/my-work?decided=*');
  assert.match(await page.locator('.notification-banner').textContent(), /Your decision was recorded/);
  assert.equal(await page.locator(`table.alerts a[href="${href}"]`).count(), 0, 'the decided alert left the alerts');

  // The follow-up on My work: what, for whom, who and by when.
  const followUp = page.locator('table.follow-ups tbody tr', { has: page.locator(`a[href="${href}"]`) });
  assert.equal(await followUp.count(), 1, 'the follow-up is listed');
  assert.match(await followUp.locator('td:first-child').textContent(), new RegExp(`Visit the child[\\s\\S]*For ${childName}`));
  assert.equal((await followUp.locator('td:nth-child(2)').textContent()).trim(), 'You');
  assert.match(await followUp.locator('td:nth-child(3)').textContent(), new RegExp(`Due ${due}`));
  await assertAccessible(page, 'my work with a follow-up');
  await screenshot(page, 'my-work-follow-up');

  // Recorded done: it leaves My work, and the alert's history names who did it.
  await followUp.locator('button:has-text("Record as done")').click();
  await page.waitForURL('**/my-work?follow_up_done=*');
  assert.match(await page.locator('.notification-banner').textContent(), /The follow-up was recorded as done/);
  assert.equal(await page.locator(`table.follow-ups a[href="${href}"]`).count(), 0, 'the follow-up left My work');
  await assertAccessible(page, 'my work after the follow-up');
  await page.goto(href);
  assert.match(await page.locator('.follow-up-list').textContent(), new RegExp(`Visit the child: ${username}, Done, recorded by ${username} on`));
  const history = await page.locator('table.history').textContent();
  assert.match(history, /Decided: Visit/);
  assert.match(history, new RegExp(`Follow-up done\\s*${username}`));
  assert.equal(await page.locator('button:has-text("Reopen alert")').count(), 1, 'a decided alert can be reopened');
  await assertAccessible(page, 'the decided alert');
  await page.context().close();
});
