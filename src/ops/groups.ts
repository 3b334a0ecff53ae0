/**
 * The consumer groups ops actions may act on: the declared ones (src/topology/topics.ts), nothing
 * else. A typo in `--group` must not create an empty DLQ read or reset offsets of a group nobody
 * runs; it is refused with the list of known groups.
 */
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';
import { dlqTopicOf, GROUPS, retryTopicOf } from '../topology/topics.ts';
import type { GroupDeclaration } from '../topology/types.ts';

/** A declared group as it exists on the cluster, under the ops context's prefix. */
export interface OpsGroup {
  /** The declared id (`erp-rest-sink`). */
  name: string;
  /** The consumer group id on the cluster (`<prefix><name>`). */
  groupId: string;
  declaration: GroupDeclaration;
  dlqTopic: string;
  retryTopic: string;
  /** The topics the group reads besides its retry topic, prefixed. */
  reads: string[];
}

/** The known group names, for messages and help texts. */
export function knownGroupNames(): string[] {
  return GROUPS.map((group) => group.id);
}

/** Resolves `--group`; INPUT_INVALID naming the known groups for anything else. */
export function resolveGroup(name: string, prefix = ''): OpsGroup {
  const declaration = GROUPS.find((group) => group.id === name);
  if (!declaration) {
    throw SynclineError.permanent(
      ErrorCodes.INPUT_INVALID,
      `unknown group ${JSON.stringify(name)}; known groups: ${knownGroupNames().join(', ')}`,
      { group: name },
    );
  }
  return {
    name,
    groupId: `${prefix}${name}`,
    declaration,
    dlqTopic: `${prefix}${dlqTopicOf(name)}`,
    retryTopic: `${prefix}${retryTopicOf(name)}`,
    reads: declaration.reads.map((topic) => `${prefix}${topic}`),
  };
}
