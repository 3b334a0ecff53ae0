/**
 * The support entitlement sink (group `support-entitlement-sink`): the golden customer's Zendesk
 * organization exists with external_id = golden id, and its entitlement fields follow the customer's
 * entitlements (see entitlement-plan.ts).
 *
 * Finding the organization: the one whose external_id is the golden id; else the organization the
 * golden record links as a Zendesk source (support made it; it now takes the golden id); else it is
 * created with `create_or_update` keyed by external_id, so a repeated create (a lost answer, a
 * redelivery) updates the same organization instead of making a second one.
 *
 * Each write is read-check-write: the organization's `syncline_versions` field holds the last version
 * applied per entity; the same version → `duplicate`, an older one → `stale`, nothing written. The
 * new version goes in the same request as the values. Zendesk has no conditional update for
 * organizations; within a consumer group one golden customer's records are applied by one member at
 * a time, in order, which is what keeps two writers apart here.
 *
 * An entitlement whose organization does not exist yet (its customer record, on another topic, is
 * not applied yet) is a retriable failure: it succeeds once the customer record has been applied.
 */
import { classify, ErrorCodes, type ErrorContext } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/logger.ts';
import { GroupIds } from '../../topology/topics.ts';
import { AppliedVersions } from '../saas/applied-versions.ts';
import { retriable } from '../saas/http-target.ts';
import { SaasSink, type SaasSinkOptions } from '../saas/saas-sink.ts';
import type { SinkOutcome, SinkRecord } from '../sink.ts';
import { planSupportWrite, type SupportPlan } from './entitlement-plan.ts';
import type { ZendeskClient } from './zendesk-client.ts';

export const SUPPORT_TARGET = 'support';
/** Tag on organizations Syncline created: their name and domain follow the golden record. */
export const MANAGED_TAG = 'syncline_managed';
/** The organization fields the sink writes; the probe checks the account has them all. */
export const REQUIRED_FIELDS = [
  'golden_customer_id',
  'erp_customer_number',
  'support_level',
  'entitlement_status',
  'entitlement_product',
  'entitlement_seats',
  'entitlement_ends_at',
  'syncline_versions',
] as const;
/** How soon to try an entitlement again whose organization is not there yet. */
const ORGANIZATION_WAIT_MS = 5_000;

interface Organization {
  id: number;
  external_id: string | null;
  tags: string[];
  organization_fields: Record<string, unknown>;
}

type Verdict = 'applied' | 'duplicate' | 'stale';

export class SupportEntitlementSink extends SaasSink<SupportPlan> {
  private readonly client: ZendeskClient;

  constructor(client: ZendeskClient, logger: Logger, options: SaasSinkOptions = {}) {
    super(
      { target: SUPPORT_TARGET, groupId: GroupIds.supportEntitlementSink, logMessage: 'support write-back' },
      logger,
      options,
    );
    this.client = client;
  }

  /** The account answers, and has every organization field the sink writes. */
  async probe(): Promise<void> {
    const answer = await this.client.request(
      { method: 'GET', path: '/organization_fields.json' },
      { part: 'probe' },
    );
    const defined = new Set(
      (
        (answer.body as { organization_fields?: { key?: unknown }[] } | undefined)?.organization_fields ?? []
      ).map((field) => field.key),
    );
    const missing = REQUIRED_FIELDS.filter((key) => !defined.has(key));
    if (missing.length > 0) {
      throw retriable(
        ErrorCodes.TARGET_UNAVAILABLE,
        `the Zendesk account lacks the organization fields ${missing.join(', ')}: create them (Admin Center > People > Organization fields)`,
        { target: SUPPORT_TARGET, part: 'probe' },
      );
    }
  }

  protected plan(record: SinkRecord): SupportPlan {
    return planSupportWrite(record);
  }

  protected async carryOut(plan: SupportPlan, context: ErrorContext): Promise<SinkOutcome> {
    if (plan.kind === 'ignore') return { status: 'ignored', reason: plan.reason };
    // One golden customer's organization takes its customer and entitlement records (different
    // topics, applied at once by the runner): one read-check-write at a time per golden id.
    return this.lock.run(plan.goldenId, () => this.carryOutLocked(plan, context));
  }

  private async carryOutLocked(
    plan: Exclude<SupportPlan, { kind: 'ignore' }>,
    context: ErrorContext,
  ): Promise<SinkOutcome> {
    if (plan.kind === 'entitlement') {
      const organization = await this.byExternalId(plan.goldenId, context);
      if (!organization) {
        return {
          status: 'failed',
          error: retriable(
            ErrorCodes.TARGET_REJECTED,
            'no support organization for the golden customer yet: its canonical.customer record is not applied',
            context,
            ORGANIZATION_WAIT_MS,
          ),
        };
      }
      return { status: await this.update(organization, plan, {}, context) };
    }

    const found =
      (await this.byExternalId(plan.goldenId, context)) ??
      (await this.linked(plan.linkedOrganizationIds, context));
    if (!found) {
      try {
        await this.client.request(
          {
            method: 'POST',
            path: '/organizations/create_or_update.json',
            json: {
              organization: {
                name: plan.name,
                external_id: plan.goldenId,
                domain_names: plan.domain ? [plan.domain] : [],
                tags: [MANAGED_TAG],
                organization_fields: {
                  ...plan.fields,
                  syncline_versions: AppliedVersions.empty()
                    .with(plan.versionKey, plan.version)
                    .withCustomerChange(plan.occurredAt)
                    .toText(),
                },
              },
            },
          },
          context,
        );
      } catch (error) {
        // Zendesk organization names are unique. An organization of this name that is not linked to
        // this golden customer is usually the company's own support organization whose record
        // match-merge has not linked yet: adopting it by name would be a match decision made here,
        // and creating a second one would split the company. The customer record is full state,
        // so nothing is lost: a later record carrying the link adopts the organization.
        if (nameTaken(error)) {
          return {
            status: 'ignored',
            reason: 'an organization of this name exists and is not linked to this golden customer yet',
          };
        }
        throw error;
      }
      return { status: 'applied' };
    }
    const held = AppliedVersions.parse(found.organization_fields.syncline_versions);
    if (held.takeoverVerdict(plan.goldenId, found.external_id, plan.occurredAt) === 'stale') {
      // Another golden id took this organization over with a newer change (a merge or an unmerge).
      return { status: 'stale' };
    }
    const managed = found.tags.includes(MANAGED_TAG);
    const attributes = {
      external_id: plan.goldenId,
      ...(managed ? { name: plan.name, domain_names: plan.domain ? [plan.domain] : [] } : {}),
    };
    return { status: await this.update(found, plan, attributes, context) };
  }

  private async update(
    organization: Organization,
    plan: Exclude<SupportPlan, { kind: 'ignore' }>,
    attributes: Record<string, unknown>,
    context: ErrorContext,
  ): Promise<Verdict> {
    const versions = AppliedVersions.parse(organization.organization_fields.syncline_versions);
    if (versions.unreadable) {
      this.logger.warn('syncline_versions is not readable (edited by hand?): treated as empty');
    }
    const verdict = versions.verdict(plan.versionKey, plan.version);
    if (verdict !== 'new') return verdict;
    const raised = versions.with(plan.versionKey, plan.version);
    const next = plan.kind === 'organization' ? raised.withCustomerChange(plan.occurredAt) : raised;
    const put = (values: Record<string, unknown>) =>
      this.client.request(
        {
          method: 'PUT',
          path: `/organizations/${organization.id}.json`,
          json: {
            organization: {
              ...values,
              organization_fields: {
                ...plan.fields,
                syncline_versions: next.toText(),
              },
            },
          },
        },
        context,
      );
    try {
      await put(attributes);
    } catch (error) {
      if (!('name' in attributes) || !nameTaken(error)) throw error;
      // The golden customer's surviving name is another organization's (Zendesk names are unique):
      // keep this organization's name and apply everything else, rather than dead-letter the record.
      const { name: _taken, ...rest } = attributes;
      this.logger.info(
        { organizationId: organization.id },
        'the surviving name is taken by another organization: kept the current name',
      );
      await put(rest);
    }
    return 'applied';
  }

  private async byExternalId(goldenId: string, context: ErrorContext): Promise<Organization | undefined> {
    const answer = await this.client.request(
      { method: 'GET', path: `/organizations/search.json?external_id=${encodeURIComponent(goldenId)}` },
      context,
    );
    const found = (answer.body as { organizations?: Organization[] } | undefined)?.organizations ?? [];
    if (found.length > 1) {
      this.logger.warn(
        { count: found.length },
        'several organizations share one external id: using the oldest',
      );
    }
    return [...found].sort((a, b) => a.id - b.id)[0];
  }

  private async linked(ids: readonly string[], context: ErrorContext): Promise<Organization | undefined> {
    for (const id of ids) {
      const answer = await this.client.request(
        { method: 'GET', path: `/organizations/${id}.json`, notFoundIsAnswer: true },
        context,
      );
      if (answer.status === 404) continue;
      const organization = (answer.body as { organization?: Organization } | undefined)?.organization;
      if (organization) return organization;
    }
    return undefined;
  }
}

/** Whether a create was refused because the organization name is taken (422 DuplicateValue on name). */
function nameTaken(error: unknown): boolean {
  const failure = classify(error);
  return !failure.retriable && failure.context.fields === 'name' && /DuplicateValue/.test(failure.message);
}
