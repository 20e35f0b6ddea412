/* global document */
/**
 * The settings banner: while the settings file on disk is invalid, a banner names each problem
 * with its path and line and says the last good settings are live; keys Gatehouse keeps but
 * ignores are a quieter note. Fed by the `settings` event (and GET /api/settings/status).
 */
import { placeOf } from './api.js';
import { h, setText } from './dom.js';
import { clock, plural } from './words.js';

const $ = (id) => document.getElementById(id);
let bannerKey = '';
let notesKey = '';

/** Shows `status` (the settings status body), or hides both when undefined. */
export function renderSettingsStatus(status) {
  const banner = $('settings-banner');
  const notes = $('settings-notes');
  const rejected = status?.rejected;
  const warnings = status?.warnings ?? [];
  banner.hidden = !rejected;
  if (rejected) {
    setText(
      $('settings-banner-title'),
      `Your last edit of ${status.file} was not applied (${rejected.code}, ${clock(rejected.at)}); the last good settings are live.`,
    );
    const lines = rejected.problems?.length
      ? rejected.problems.map((p) => `${placeOf(p)}: ${p.message}`)
      : [rejected.message];
    const key = JSON.stringify(lines);
    if (key !== bannerKey) {
      bannerKey = key;
      $('settings-problems').replaceChildren(...lines.map((line) => h('li', { text: line })));
    }
  }
  notes.hidden = warnings.length === 0;
  setText(
    $('settings-notes-summary'),
    `${plural(warnings.length, 'key')} in the settings file ${warnings.length === 1 ? 'is' : 'are'} kept but not used`,
  );
  const key = JSON.stringify(warnings);
  if (key !== notesKey) {
    notesKey = key;
    $('settings-notes-list').replaceChildren(
      ...warnings.map((w) => h('li', { text: `${w.path}: ${w.message}` })),
    );
  }
}
