/** The export upload's pure parts: what to check before sending, and how to say what happened. */
import { usernameProblem } from './form-model.js';
import { EXPORT_MAX_BYTES, type ImportSummary } from './api.js';

/** The file as the upload checks it (a File fits). */
export interface ChosenFile {
  name: string;
  size: number;
}

export interface UploadErrors {
  username?: string;
  file?: string;
}

/** Problems to fix before uploading, by field (empty: go ahead). The server checks the contents. */
export function uploadProblems(username: string, file: ChosenFile | null): UploadErrors {
  const errors: UploadErrors = {};
  const u = usernameProblem(username, true);
  if (u) errors.username = u;
  if (!file) errors.file = 'Choose the ZIP file of your Letterboxd export.';
  else if (file.size === 0) errors.file = `${file.name} is empty; choose the ZIP Letterboxd gave you.`;
  else if (file.size > EXPORT_MAX_BYTES) {
    errors.file = `${file.name} is ${megabytes(file.size)}; an export is far smaller (at most 20 MB here). Choose the ZIP Letterboxd gave you.`;
  }
  return errors;
}

export function megabytes(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return `${mb >= 10 ? Math.round(mb) : Math.max(0.1, Math.round(mb * 10) / 10)} MB`;
}

function count(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en-GB')} ${n === 1 ? one : many}`;
}

/** "Imported 1,234 films and 2,345 diary entries for dave." */
export function importedSentence(s: ImportSummary): string {
  return `Imported ${count(s.films, 'film', 'films')} and ${count(s.diaryEntries, 'diary entry', 'diary entries')} for ${s.username}.`;
}
