import { ERROR_CATALOG } from '../errors.js'

/** docs/errors.md, generated from ERROR_CATALOG in src/errors.ts (`npm run docs:errors`; a test fails when it drifts). */
export const errorsMarkdown = (): string => {
  const rows = Object.entries(ERROR_CATALOG).map(
    ([code, { kind, meaning, action }]) => `| \`${code}\` | \`${kind}\` | ${meaning} | ${action} |`,
  )
  return [
    '# Error codes',
    '',
    'Generated from `src/errors.ts` by `npm run docs:errors`; a test fails when this file drifts from the code.',
    '',
    'Every failure has one tagged error class with a stable code. One-shot `tor client` commands print',
    '`Error: <reason> [<code>]` on stderr and exit 1 (with `--json`: `{"error":{"code","message"}}` on stderr).',
    'What the server tells a client is an `error <reason>` line (see [protocol.md](protocol.md#errors-limits-and-timeouts));',
    'the client reports those as `TOR_ERR_REFUSED`. Reasons sent to a client never contain a server path.',
    '',
    '| code | error class | what it means | what to do |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n')
}
