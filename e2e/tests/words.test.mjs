// Every page at 320, 768 and 1366 px wide, as each role sees it: the page does
// not scroll sideways, axe-core finds no serious or critical violation, and the
// page's text holds no raw code, internal person id, ISO timestamp or raw JSON
// (machineText, shared by the other e2e tests). Screenshots at 320 px of the
// main pages go beside the others (narrow-*.png).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { App, seriousViolations, screenshot, machineText, horizontalOverflow } from './support.mjs';

const WIDTHS = [320, 768, 1366];

let app;

before(async () => { app = await App.start(); });
after(async () => { await app?.stop(); });

/** Loads `path` at every width and checks it; returns the problems found. */
async function checkPage(page, path, name) {
  const problems = [];
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    const response = await page.goto(path);
    if (!response || response.status() >= 500) {
      problems.push(`${name} at ${width} px: answered ${response?.status()}`);
      continue;
    }
    const overflow = await horizontalOverflow(page);
    if (overflow.scrolls) problems.push(`${name} at ${width} px scrolls sideways: ${overflow.wide.join(', ')}`);
    for (const violation of await seriousViolations(page)) problems.push(`${name} at ${width} px: ${violation}`);
    for (const found of await machineText(page, app.agencyIds)) problems.push(`${name} at ${width} px: ${found}`);
    if (width === 320) await screenshot(page, `narrow-${name}`);
  }
  assert.deepEqual(page.cspViolations, [], `${name}: the page broke its CSP`);
  return problems;
}

/** The first link on `path` matching `selector`, or null. */
async function firstLink(page, path, selector) {
  await page.goto(path);
  const link = page.locator(selector).first();
  return (await link.count()) ? link.getAttribute('href') : null;
}

test('every page reads as words and fits at 320, 768 and 1366 px', async () => {
  const problems = [];

  const anonymous = await app.page();
  problems.push(...await checkPage(anonymous, '/login', 'login'));
  await anonymous.context().close();

  // The duty worker: My work, an alert, its child, the chronology, a record.
  const duty = await app.page();
  await app.signIn(duty, 'duty');
  problems.push(...await checkPage(duty, '/my-work', 'my-work'));
  const alert = await firstLink(duty, '/my-work', 'table.alerts tbody tr td:nth-child(2) a');
  assert.ok(alert, 'the duty worker has an alert');
  problems.push(...await checkPage(duty, alert, 'alert'));
  const child = await firstLink(duty, alert, 'a[href^="/children/"]');
  assert.ok(child, 'the alert links its child');
  problems.push(...await checkPage(duty, child, 'child'));
  problems.push(...await checkPage(duty, `${child}/chronology`, 'chronology'));
  problems.push(...await checkPage(duty, `${child}/chronology?from=3+October+2000&to=31%2F12%2F2030`, 'chronology-filtered'));
  const record = await firstLink(duty, alert, 'main a[href^="/records/"]');
  assert.ok(record, 'the alert lists its evidence');
  problems.push(...await checkPage(duty, record, 'record'));
  problems.push(...await checkPage(duty, '/search', 'search'));
  problems.push(...await checkPage(duty, `/search?name=${encodeURIComponent(app.relatedChild.name)}&dob=${app.relatedChild.dob}`, 'search-results'));
  problems.push(...await checkPage(duty, '/no-such-page', 'not-found'));
  await duty.context().close();

  // A police practitioner: another agency's record, the minimal view.
  const practitioner = await app.page();
  await app.signIn(practitioner, 'practitioner');
  problems.push(...await checkPage(practitioner, app.otherAgencyRecord, 'record-minimal'));
  await practitioner.context().close();

  const lead = await app.page();
  await app.signIn(lead, 'safeguarding_lead');
  problems.push(...await checkPage(lead, '/linkage/review', 'linkage-review'));
  problems.push(...await checkPage(lead, '/linkage/decisions', 'linkage-decisions'));
  await lead.context().close();

  const privacy = await app.page();
  await app.signIn(privacy, 'privacy_officer');
  problems.push(...await checkPage(privacy, '/privacy/access-log', 'access-log'));
  const viewers = await firstLink(privacy, '/privacy/access-log', 'a[href^="/privacy/children/"]');
  if (viewers) problems.push(...await checkPage(privacy, viewers, 'who-viewed'));
  await privacy.context().close();

  const administrator = await app.page();
  await app.signIn(administrator, 'administrator');
  problems.push(...await checkPage(administrator, '/admin/users', 'admin-users'));
  problems.push(...await checkPage(administrator, '/admin/tokens', 'admin-tokens'));
  await administrator.context().close();

  assert.deepEqual(problems, [], `${problems.length} problems:\n${problems.join('\n')}`);
});
