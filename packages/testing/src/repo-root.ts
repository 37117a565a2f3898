// The repository's root folder, from this package's source (jest) or its dist/ (bench,
// `pnpm start`): both sit one level below packages/testing.
import path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');
