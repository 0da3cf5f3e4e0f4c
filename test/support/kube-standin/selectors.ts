// Label and field selectors with the API's grammar
// (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors).
import { badRequest } from './status.ts';
import { labelKeyProblem, labelValueProblem } from './names.ts';

export type Operator = 'exists' | 'doesNotExist' | '=' | '!=' | 'in' | 'notin';

export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}

const SPECIAL = new Set(['!', '=', '(', ')', ',', '<', '>']);

function tokenize(input: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '!' && input[i + 1] === '=') {
      tokens.push('!=');
      i += 2;
    } else if (c === '=' && input[i + 1] === '=') {
      tokens.push('==');
      i += 2;
    } else if (SPECIAL.has(c)) {
      tokens.push(c);
      i++;
    } else {
      let j = i;
      while (j < input.length && !SPECIAL.has(input[j]!) && !/\s/.test(input[j]!)) j++;
      tokens.push(input.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

const isIdentifier = (t: string | undefined): t is string => t !== undefined && !SPECIAL.has(t) && t !== '!=' && t !== '==';

/** Parses a label selector; throws a 400 Status as the API does for a malformed one. */
export function parseLabelSelector(selector: string): Requirement[] {
  const tokens = tokenize(selector);
  const requirements: Requirement[] = [];
  let pos = 0;
  const fail = (detail: string): never => {
    throw badRequest(`unable to parse requirement: ${detail}`);
  };
  while (pos < tokens.length) {
    let requirement: Requirement;
    if (tokens[pos] === '!') {
      const key = tokens[pos + 1];
      if (!isIdentifier(key)) fail(`found '${key ?? ''}', expected: identifier after '!'`);
      requirement = { key: key!, operator: 'doesNotExist', values: [] };
      pos += 2;
    } else {
      const key = tokens[pos];
      if (!isIdentifier(key)) fail(`found '${key}', expected: !, identifier, or 'end of string'`);
      pos++;
      const op = tokens[pos];
      if (op === undefined || op === ',') {
        requirement = { key: key!, operator: 'exists', values: [] };
      } else if (op === '=' || op === '==' || op === '!=') {
        pos++;
        const value = isIdentifier(tokens[pos]) ? tokens[pos++]! : '';
        requirement = { key: key!, operator: op === '!=' ? '!=' : '=', values: [value] };
      } else if (op === 'in' || op === 'notin') {
        pos++;
        if (tokens[pos] !== '(') fail(`found '${tokens[pos] ?? ''}', expected: '('`);
        pos++;
        const values: string[] = [];
        let expectValue = true;
        while (tokens[pos] !== ')') {
          const t = tokens[pos];
          if (t === undefined) fail("found '', expected: ')'");
          if (t === ',') {
            if (expectValue) values.push('');
            expectValue = true;
          } else if (isIdentifier(t) && expectValue) {
            values.push(t);
            expectValue = false;
          } else {
            fail(`found '${t}', expected: ',' or ')'`);
          }
          pos++;
        }
        pos++;
        if (values.length === 0) fail(`for 'in', 'notin' operators, values set can't be empty`);
        requirement = { key: key!, operator: op, values };
      } else {
        requirement = fail(`found '${op}', expected: in, notin, =, ==, !=, gt, lt`);
      }
    }
    const keyProblem = labelKeyProblem(requirement.key);
    if (keyProblem) fail(`key: Invalid value: ${JSON.stringify(requirement.key)}: ${keyProblem}`);
    requirement.values.forEach((v, i) => {
      const problem = labelValueProblem(v);
      if (problem) fail(`values[${i}][${requirement.key}]: Invalid value: ${JSON.stringify(v)}: ${problem}`);
    });
    requirements.push(requirement);
    if (pos < tokens.length) {
      if (tokens[pos] !== ',') fail(`found '${tokens[pos]}', expected: ',' or 'end of string'`);
      pos++;
      if (pos >= tokens.length) fail("found '', expected: identifier after ','");
    }
  }
  return requirements;
}

export function matchesLabels(requirements: readonly Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return requirements.every((r) => {
    const has = Object.hasOwn(l, r.key);
    const value = l[r.key];
    switch (r.operator) {
      case 'exists':
        return has;
      case 'doesNotExist':
        return !has;
      case '=':
      case 'in':
        return has && r.values.includes(value!);
      case '!=':
      case 'notin':
        return !has || !r.values.includes(value!);
    }
  });
}

/** A metav1.LabelSelector ({matchLabels, matchExpressions}) as requirements. */
export function requirementsOf(selector: {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}): Requirement[] {
  const reqs: Requirement[] = Object.entries(selector.matchLabels ?? {}).map(([key, v]) => ({ key, operator: '=', values: [v] }));
  for (const e of selector.matchExpressions ?? []) {
    const operator = ({ In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: 'doesNotExist' } as const)[e.operator as 'In'];
    reqs.push({ key: e.key, operator, values: e.values ?? [] });
  }
  return reqs;
}

export interface FieldRequirement {
  field: string;
  negate: boolean;
  value: string;
}

/** "metadata.name=web,status.phase!=Running"; the fields each resource supports are checked by the caller. */
export function parseFieldSelector(selector: string): FieldRequirement[] {
  if (selector.trim() === '') return [];
  return selector.split(',').map((part) => {
    const m = /^\s*([^!=\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    return { field: m[1]!, negate: m[2] === '!=', value: m[3]! };
  });
}
