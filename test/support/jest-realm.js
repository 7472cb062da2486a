/**
 * Jest runs tests in a VM context whose Object.prototype differs from Node's. Node's native
 * structuredClone returns objects of the outer realm, which libraries' "is plain object" checks (such
 * as oidc-provider's for client JWKS) then reject. Outside jest there is one realm and no such problem;
 * this shim re-creates cloned plain objects and arrays in the test realm.
 */
const outerClone = globalThis.structuredClone;

function relocate(value) {
  if (Array.isArray(value)) return value.map(relocate);
  if (value !== null && typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto === null || proto.constructor?.name === 'Object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, relocate(v)]));
    }
  }
  return value;
}

globalThis.structuredClone = (value, options) => relocate(outerClone(value, options));
