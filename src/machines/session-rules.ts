import {
  Reply,
  errorReply,
  nameProblem,
  parseCommand,
  parseSize,
} from '../protocol/index.js'

/** What the line reader hands the machine: a decoded line, or why a line could not be decoded. */
export type LineResult =
  | { readonly _tag: 'Line'; readonly text: string }
  | { readonly _tag: 'Invalid'; readonly code: string; readonly message: string }

/**
 * The protocol decision for one received command line: pure, so the machine's
 * guards and actions, the replay tool and the tests all agree on it.
 */
export type CommandDecision =
  | { readonly next: 'list'; readonly search?: string }
  | { readonly next: 'download'; readonly name: string }
  | { readonly next: 'upload'; readonly name: string }
  | { readonly next: 'exit' }
  | { readonly next: 'refuse'; readonly reply: string; readonly reason: string }

export const decideCommand = (line: LineResult): CommandDecision => {
  if (line._tag === 'Invalid') return { next: 'refuse', reply: errorReply(line.message), reason: line.message }
  const command = parseCommand(line.text)
  switch (command.verb) {
    case 'show':
      return { next: 'list' }
    case 'search':
      return { next: 'list', search: command.text }
    case 'download':
    case 'upload': {
      const problem = nameProblem(command.name)
      if (problem !== undefined) {
        return { next: 'refuse', reply: errorReply('invalid file name'), reason: `invalid file name (${problem})` }
      }
      return { next: command.verb, name: command.name }
    }
    case 'exit':
      return { next: 'exit' }
    case 'unknown':
      return { next: 'refuse', reply: Reply.unknownCommand, reason: 'unknown command' }
  }
}

export type SizeDecision =
  | { readonly accepted: true; readonly size: number }
  | { readonly accepted: false; readonly reply: string; readonly reason: string }

export const decideUploadSize = (line: LineResult, maxUploadBytes: number): SizeDecision => {
  if (line._tag === 'Invalid') return { accepted: false, reply: errorReply('invalid size'), reason: line.message }
  const size = parseSize(line.text, maxUploadBytes)
  if (typeof size === 'number') return { accepted: true, size }
  return { accepted: false, reply: errorReply(size.message), reason: size.message }
}
