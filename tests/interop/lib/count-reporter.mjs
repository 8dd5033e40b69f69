// node:test reporter that counts leaf tests (not suites). It rewrites its counts file on every
// result, synchronously, because --test-force-exit may end the process before a reporter's
// final output is flushed. The file is named by WIREBOX_COUNTS_FILE; the runner reads it to print
// the closing "N passed, N failed" line.
import {writeFileSync} from 'node:fs';

export default async function* countReporter(source) {
  const file = process.env.WIREBOX_COUNTS_FILE;
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const save = () => {
    if (file) writeFileSync(file, `${passed} ${failed} ${skipped}\n`);
  };
  save();
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const {details} = event.data;
    if (details?.type === 'suite') {
      // A suite counts on its own only when its body threw (its tests may never have been
      // declared). A failed before() hook already fails every test in it.
      if (event.type === 'test:fail' && details.error?.failureType === 'testCodeFailure') failed++;
    } else if (event.data.skip || event.data.todo) {
      skipped++;
    } else if (event.type === 'test:pass') {
      passed++;
    } else {
      failed++;
    }
    save();
  }
  yield "";
}
