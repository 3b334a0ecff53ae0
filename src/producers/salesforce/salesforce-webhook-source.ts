/**
 * CRM connector: Salesforce change events for Account and Opportunity, delivered by an HTTP callout
 * (a Flow or Apex trigger, or a Pub/Sub API relay) that signs like Stripe does:
 * `X-Syncline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`.
 *
 * One change event can name several records (a bulk update): each becomes its own raw record, keyed
 * by its record id and naming only that record in its header, all sharing the Salesforce transaction
 * as their correlation.
 */
import { avroEnvelope } from '../avro-values.ts';
import { buildEnvelope } from '../envelope.ts';
import { DEFAULT_TOLERANCE_SECONDS, verifyTimestampedHmac } from '../signatures.ts';
import {
  rawTopic,
  SourceSystems,
  type InboundRequest,
  type ParseOutcome,
  type RawEvent,
  type Verification,
  type WebhookSource,
} from '../source.ts';
import { fieldProblems } from '../validation.ts';
import {
  ChangeEventMessage,
  isConsumedSalesforceEntity,
  SALESFORCE_ENTITIES,
  type SalesforceEntityName,
} from './change-event-schema.ts';
import { accountFields, changeEventHeader, opportunityFields } from './salesforce-records.ts';

export const SALESFORCE_SIGNATURE_HEADER = 'x-syncline-signature';

export interface SalesforceChangeEvent {
  message: ChangeEventMessage;
  entityName: SalesforceEntityName;
}

export interface SalesforceSourceOptions {
  secrets: readonly string[];
  toleranceSeconds?: number;
}

export class SalesforceWebhookSource implements WebhookSource<SalesforceChangeEvent> {
  readonly name = SourceSystems.SALESFORCE;
  readonly route = '/webhooks/salesforce';
  private readonly secrets: readonly string[];
  private readonly toleranceSeconds: number;

  constructor(options: SalesforceSourceOptions) {
    this.secrets = options.secrets;
    this.toleranceSeconds = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  }

  verify(request: InboundRequest): Verification {
    return verifyTimestampedHmac({
      header: request.headers[SALESFORCE_SIGNATURE_HEADER],
      headerName: 'X-Syncline-Signature',
      rawBody: request.rawBody,
      secrets: this.secrets,
      receivedAt: request.receivedAt,
      toleranceSeconds: this.toleranceSeconds,
    });
  }

  parse(body: unknown): ParseOutcome<SalesforceChangeEvent> {
    const parsed = ChangeEventMessage.safeParse(body);
    if (!parsed.success) return { kind: 'invalid', problems: fieldProblems(parsed.error) };
    const header = parsed.data.payload.ChangeEventHeader;
    if (!isConsumedSalesforceEntity(header.entityName)) {
      return { kind: 'ignored', eventType: `${header.entityName}ChangeEvent.${header.changeType}` };
    }
    return { kind: 'event', event: { message: parsed.data, entityName: header.entityName } };
  }

  toRawEvents(event: SalesforceChangeEvent, context: { receivedAt: Date }): RawEvent[] {
    const { message, entityName } = event;
    const { ChangeEventHeader: header, ...payload } = message.payload;
    const entity = SALESFORCE_ENTITIES[entityName];
    const eventType = `crm.${entity}.${whatHappened(entityName, header.changeType, payload, header.changedFields)}`;
    // The transaction key and the event's sequence in it identify a change event for good; the
    // replay id would too, but a relay may not pass it on.
    const sourceEventId = `${header.transactionKey}:${header.sequenceNumber}`;
    const avroHeader = changeEventHeader(header);
    const fields = entityName === 'Account' ? accountFields(payload) : opportunityFields(payload);
    return [...new Set(header.recordIds)].map((recordId) => {
      const envelope = buildEnvelope({
        system: SourceSystems.SALESFORCE,
        instance: message.orgId ?? 'default',
        eventType,
        sourceEventId,
        sourceEntityId: recordId,
        // The commit number is Salesforce's system change number: it only grows within an org.
        sourceVersion: header.commitNumber,
        occurredAt: header.commitTimestamp,
        ingestedAt: context.receivedAt.getTime(),
        perEntity: true,
        transactionKey: header.transactionKey,
      });
      return {
        topic: rawTopic(SourceSystems.SALESFORCE, entity),
        key: recordId,
        envelope,
        // Each record's header names its own record only: copying every id of a bulk change into
        // every record would grow the topic with the square of the batch. The records of one
        // change share the correlation id (the Salesforce transaction) instead.
        value: {
          envelope: avroEnvelope(envelope),
          ChangeEventHeader: { ...avroHeader, recordIds: [recordId] },
          Id: recordId,
          ...fields,
        },
      };
    });
  }

  eventIdOf(event: SalesforceChangeEvent): string {
    const header = event.message.payload.ChangeEventHeader;
    return `${header.transactionKey}:${header.sequenceNumber}`;
  }

  payloadPathOf(recordPath: string): string {
    if (recordPath.startsWith('envelope')) return recordPath;
    if (recordPath === 'Id') return 'payload.ChangeEventHeader.recordIds';
    return `payload.${recordPath.replace(/^(\w+)Minor\b/, '$1')}`;
  }
}

function whatHappened(
  entityName: SalesforceEntityName,
  changeType: string,
  payload: Record<string, unknown>,
  changedFields: string[] | undefined,
): string {
  if (changeType.startsWith('GAP_')) return changeType === 'GAP_OVERFLOW' ? 'overflow' : 'gap';
  if (changeType === 'DELETE') return 'deleted';
  if (changeType === 'UNDELETE') return 'undeleted';
  if (changeType !== 'CREATE' && changeType !== 'UPDATE') return 'changed';
  if (entityName === 'Opportunity') {
    const stageChanged = changeType === 'CREATE' || (changedFields ?? []).includes('StageName');
    if (stageChanged && (payload.IsWon === true || payload.StageName === 'Closed Won')) return 'closed_won';
    if (stageChanged && payload.StageName === 'Closed Lost') return 'closed_lost';
  }
  return changeType === 'CREATE' ? 'created' : 'updated';
}
