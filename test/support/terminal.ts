import { PassThrough } from 'node:stream'

/** A terminal for the prompt: keys go in, what it prints is collected. */
export const fakeTerminal = () => {
  const input = Object.assign(new PassThrough(), { isTTY: true })
  const output = new PassThrough()
  let echoed = ''
  const printed: string[] = []
  const errors: string[] = []
  const waiters: Array<() => void> = []
  const wake = () => waiters.splice(0).forEach((w) => w())
  output.on('data', (d) => ((echoed += d), wake()))
  /** Resolves once the prompt has written text matching `pattern` to the terminal (a question, say). */
  const shown = (pattern: RegExp) =>
    new Promise<void>((resolve) => {
      const check = () => (pattern.test(echoed) ? resolve() : waiters.push(check))
      check()
    })
  const said = (pattern: RegExp) =>
    new Promise<void>((resolve) => {
      const check = () => ([...printed, ...errors].some((l) => pattern.test(l)) ? resolve() : waiters.push(check))
      check()
    })
  return {
    io: { input, output, print: (l: string) => (printed.push(l), wake()), printError: (l: string) => (errors.push(l), wake()) },
    type: (keys: string) => input.write(keys),
    printed,
    errors,
    said,
    shown,
    /** Everything the prompt wrote to the terminal itself (echo, prompts). */
    echoed: () => echoed,
  }
}

