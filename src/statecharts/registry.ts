import type { AnyStateMachine } from 'xstate'
import { clientSessionMachine } from '../machines/client-session.js'
import { serverSessionMachine } from '../machines/server-session.js'
import { serverMachine } from '../machines/server.js'

export interface MachineEntry {
  readonly name: string
  readonly title: string
  readonly summary: string
  readonly machine: AnyStateMachine
}

/** Every machine whose statechart is exported, by the name used in file names and on the command line. */
export const MACHINES: readonly MachineEntry[] = [
  {
    name: 'server-session',
    title: 'Server session',
    summary:
      'One per connected client, started by the server actor as an actor system of its own. It reads one command line at a time, decides the reply with pure rules (name and size checks included), and hands listing and payload I/O to invoked actors; bulk bytes never pass through it.',
    machine: serverSessionMachine,
  },
  {
    name: 'server',
    title: 'Server actor',
    summary:
      'Supervises the sessions: accepts connections, starts a session actor per client (client-N, each its own actor system, not a child: a child would cost every connect and disconnect O(clients)), forgets a session that ends or fails (session.ended) without disturbing the others, stops those left when it stops, and answers the admin console.',
    machine: serverMachine,
  },
  {
    name: 'client-session',
    title: 'Client session',
    summary:
      "Drives the `tor` client's side of a connection, one user command at a time, mirroring the server session: awaiting a reply, receiving a listing, receiving the size, transferring, exit.",
    machine: clientSessionMachine,
  },
]

export const findMachine = (name: string): MachineEntry | undefined => MACHINES.find((m) => m.name === name)
