/**
 * Zendesk organizations as the double stores and checks them: the standard attributes, and the
 * organization fields (custom fields) that carry a customer's support entitlement. As Zendesk does,
 * attributes it does not know and read-only ones are ignored (the double records which), and bad
 * values are refused with 422 RecordInvalid and a `details` entry per attribute.
 */

export interface OrganizationFieldDefinition {
  key: string;
  title: string;
  type: 'text' | 'textarea' | 'dropdown' | 'integer' | 'date' | 'checkbox';
  options?: readonly string[];
}

/** The organization fields Syncline's support sink writes (entitlement) or reads (identity). */
export const ORGANIZATION_FIELDS: readonly OrganizationFieldDefinition[] = [
  {
    key: 'support_level',
    title: 'Support level',
    type: 'dropdown',
    options: ['none', 'standard', 'premium', 'enterprise'],
  },
  {
    key: 'entitlement_status',
    title: 'Entitlement status',
    type: 'dropdown',
    options: ['pending', 'active', 'suspended', 'expired', 'revoked'],
  },
  { key: 'entitlement_product', title: 'Entitlement product', type: 'text' },
  { key: 'entitlement_seats', title: 'Entitlement seats', type: 'integer' },
  { key: 'entitlement_ends_at', title: 'Entitlement ends', type: 'date' },
  { key: 'golden_customer_id', title: 'Golden customer id', type: 'text' },
  { key: 'erp_customer_number', title: 'ERP customer number', type: 'text' },
  /** Owned by the integration: the last source version it applied per Syncline entity (JSON). */
  { key: 'syncline_versions', title: 'Syncline versions', type: 'textarea' },
];

export interface Organization {
  url: string;
  id: number;
  name: string;
  shared_tickets: boolean;
  shared_comments: boolean;
  external_id: string | null;
  created_at: string;
  updated_at: string;
  domain_names: string[];
  details: string | null;
  notes: string | null;
  group_id: number | null;
  tags: string[];
  organization_fields: Record<string, string | number | boolean | null>;
}

/** One entry of `details` in a RecordInvalid answer. */
export interface DetailEntry {
  description: string;
  error: string;
}

export interface CheckedOrganization {
  /** The attributes to apply (organization_fields merged key by key by the caller). */
  values: Partial<Omit<Organization, 'organization_fields'>> & {
    organization_fields?: Record<string, string | number | boolean | null>;
  };
  ignored: string[];
  details: Record<string, DetailEntry[]>;
}

const READ_ONLY = new Set(['id', 'url', 'created_at', 'updated_at']);

/** Checks the `organization` object of a create or update body. */
export function checkOrganization(input: Record<string, unknown>): CheckedOrganization {
  const values: CheckedOrganization['values'] = {};
  const ignored: string[] = [];
  const details: Record<string, DetailEntry[]> = {};
  const invalid = (attribute: string, title: string, what = 'is invalid') => {
    (details[attribute] ??= []).push({ description: `${title}: ${what}`, error: 'InvalidValue' });
  };
  for (const [name, value] of Object.entries(input)) {
    switch (name) {
      case 'name':
        if (typeof value !== 'string' || value.trim() === '') {
          (details.name ??= []).push({ description: 'Name: cannot be blank', error: 'BlankValue' });
        } else if (value.length > 255) {
          (details.name ??= []).push({
            description: 'Name: is too long (maximum is 255 characters)',
            error: 'ValueTooLong',
          });
        } else {
          values.name = value.trim();
        }
        break;
      case 'external_id':
      case 'details':
      case 'notes':
        if (value === null || typeof value === 'string')
          values[name] = value === '' && name === 'external_id' ? null : value;
        else invalid(name, titleOf(name));
        break;
      case 'group_id':
        if (value === null || (typeof value === 'number' && Number.isInteger(value))) values.group_id = value;
        else invalid(name, 'Group');
        break;
      case 'shared_tickets':
      case 'shared_comments':
        if (typeof value === 'boolean') values[name] = value;
        else invalid(name, titleOf(name));
        break;
      case 'domain_names':
      case 'tags':
        if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
          values[name] = name === 'tags' ? normalizeTags(value) : value.map((domain) => domain.toLowerCase());
        } else {
          invalid(name, titleOf(name));
        }
        break;
      case 'organization_fields':
        if (value === null || typeof value !== 'object' || Array.isArray(value)) {
          invalid(name, 'Organization fields');
        } else {
          values.organization_fields = {};
          for (const [key, fieldValue] of Object.entries(value as Record<string, unknown>)) {
            const definition = ORGANIZATION_FIELDS.find((field) => field.key === key);
            if (!definition) {
              ignored.push(`organization_fields.${key}`);
              continue;
            }
            const checked = checkField(definition, fieldValue);
            if (checked === undefined)
              invalid(key, definition.title, `${JSON.stringify(fieldValue)} is not a valid value`);
            else values.organization_fields[key] = checked.value;
          }
        }
        break;
      default:
        // Zendesk ignores read-only and unknown attributes; read-only ones are not worth reporting.
        if (!READ_ONLY.has(name)) ignored.push(name);
    }
  }
  return { values, ignored, details };
}

function checkField(
  definition: OrganizationFieldDefinition,
  value: unknown,
): { value: string | number | boolean | null } | undefined {
  if (value === null) return { value: null };
  switch (definition.type) {
    case 'text':
    case 'textarea':
      return typeof value === 'string'
        ? { value }
        : typeof value === 'number'
          ? { value: String(value) }
          : undefined;
    case 'dropdown':
      return typeof value === 'string' && definition.options?.includes(value) ? { value } : undefined;
    case 'integer':
      if (typeof value === 'number' && Number.isInteger(value)) return { value };
      if (typeof value === 'string' && /^-?\d+$/.test(value)) return { value: Number(value) };
      return undefined;
    case 'date':
      return typeof value === 'string' &&
        /^\d{4}-\d{2}-\d{2}$/.test(value) &&
        !Number.isNaN(Date.parse(value))
        ? { value }
        : undefined;
    case 'checkbox':
      return typeof value === 'boolean' ? { value } : undefined;
  }
}

/** Zendesk keeps tags lower case, with spaces turned into underscores, without duplicates. */
export function normalizeTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map((tag) => tag.trim().toLowerCase().replace(/\s+/g, '_')).filter(Boolean))];
}

function titleOf(attribute: string): string {
  const text = attribute.replaceAll('_', ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}
