/**
 * Every command of the `syncline` CLI, one module each. A new command is one new module and one
 * line here.
 */
import type { Command } from 'commander';
import { registerInfra } from './infra.ts';
import { registerTopology } from './topology.ts';

export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [registerInfra, registerTopology];
