#!/usr/bin/env node
// k8s_validate.mjs — offline validation of Kubernetes manifests (no API server needed).
//
//   node k8s_validate.mjs [--policy] FILE|DIR...
//
// 1. Every YAML document must parse and name apiVersion, kind and metadata.name.
// 2. Every object is validated against the Kubernetes OpenAPI schema of its kind with npm
//    kubernetes-models (types, required fields, enums, formats). An apiVersion/kind it does not
//    know is an error. A kustomization.yaml is checked instead for its resources existing.
//    kubernetes-models does not reject unknown fields (its schemas allow them, as the API
//    server's non-strict decoding does): a misspelt field is caught only by the --policy rules
//    below when it is one they require.
// 3. --policy adds loopcast's own rules and the references between objects: a single-replica
//    Recreate Deployment with startup/liveness/readiness probes on /healthz and /readyz,
//    resources, the restricted securityContext, the API token from an existing Secret key,
//    state on an existing PVC at /var/lib/loopcast, an emptyDir at /tmp, a Service whose selector
//    matches the pod labels and whose targetPort names a container port.
//    Beyond the schema: what the API server's validation also demands (every container has an
//    image and a unique name).
// Exit status 0 if everything passes, 1 with one line per problem otherwise.
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

const args = process.argv.slice(2);
const policy = args.includes('--policy');
const inputs = args.filter((a) => a !== '--policy');
if (!inputs.length) {
  console.error('usage: k8s_validate.mjs [--policy] FILE|DIR...');
  process.exit(2);
}

const problems = [];
const fail = (where, msg) => problems.push(`${where}: ${msg}`);

function yamlFiles(p) {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return [p];
  return fs.readdirSync(p).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => path.join(p, f));
}

function loadDocs(file) {
  const text = fs.readFileSync(file, 'utf8');
  const docs = [];
  for (const d of parseAllDocuments(text)) {
    if (d.errors.length) {
      for (const e of d.errors) fail(file, `YAML: ${e.message.split('\n')[0]}`);
      continue;
    }
    const obj = d.toJS();
    if (obj !== null && obj !== undefined) docs.push(obj);
  }
  return docs;
}

// apiVersion "v1" -> kubernetes-models/v1, "apps/v1" -> kubernetes-models/apps/v1.
async function modelFor(apiVersion, kind) {
  let mod;
  try {
    mod = await import(`kubernetes-models/${apiVersion}`);
  } catch {
    return { error: `unknown apiVersion "${apiVersion}"` };
  }
  const Cls = mod[kind];
  if (typeof Cls !== 'function') return { error: `unknown kind "${kind}" in ${apiVersion}` };
  return { Cls };
}

// --- the checks -----------------------------------------------------------------------------------
const objects = []; // {file, obj}

async function checkObject(file, obj) {
  const where = `${file}: ${obj?.kind ?? '?'}/${obj?.metadata?.name ?? '?'}`;
  if (typeof obj !== 'object' || Array.isArray(obj)) return fail(file, 'a document is not a mapping');
  if (typeof obj.apiVersion !== 'string' || !obj.apiVersion) return fail(where, 'no apiVersion');
  if (typeof obj.kind !== 'string' || !obj.kind) return fail(where, 'no kind');
  if (obj.apiVersion.startsWith('kustomize.config.k8s.io/')) return checkKustomization(file, obj);
  if (typeof obj.metadata?.name !== 'string' || !obj.metadata.name) return fail(where, 'no metadata.name');
  const { Cls, error } = await modelFor(obj.apiVersion, obj.kind);
  if (error) return fail(where, error);
  try {
    new Cls(obj).validate();
  } catch (e) {
    const details = e.errors?.map((x) => `${x.instancePath || '/'} ${x.message}`).join('; ');
    return fail(where, `schema: ${details || e.message}`);
  }
  apiServerRules(where, obj);
  objects.push({ file, obj });
}

// What the API server's own validation requires beyond the OpenAPI schema (which leaves these
// optional): every container of a pod template has a name (unique) and an image.
function apiServerRules(where, obj) {
  const pod = obj.kind === 'Pod' ? obj.spec : obj.spec?.template?.spec ?? obj.spec?.jobTemplate?.spec?.template?.spec;
  if (!pod) return;
  if (!Array.isArray(pod.containers) || !pod.containers.length) return fail(where, 'pod template has no containers');
  const seen = new Set();
  for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
    if (!c.image) fail(where, `container "${c.name ?? '?'}": image is required`);
    if (seen.has(c.name)) fail(where, `container name "${c.name}" is not unique`);
    seen.add(c.name);
  }
}

function checkKustomization(file, k) {
  const dir = path.dirname(file);
  for (const key of ['resources', 'patches', 'components']) {
    for (const r of k[key] ?? []) {
      const ref = typeof r === 'string' ? r : r?.path;
      if (!ref || /^[a-z]+:\/\//.test(ref)) continue;
      if (!fs.existsSync(path.join(dir, ref))) fail(file, `${key}: "${ref}" does not exist`);
    }
  }
  if (!Array.isArray(k.resources) || !k.resources.length) fail(file, 'kustomization lists no resources');
}

function find(kind, name) {
  return objects.find((o) => o.obj.kind === kind && o.obj.metadata.name === name)?.obj;
}

function checkPolicy() {
  const deps = objects.filter((o) => o.obj.kind === 'Deployment');
  if (deps.length !== 1) fail('policy', `expected exactly one Deployment, found ${deps.length}`);
  for (const { file, obj: d } of deps) {
    const w = `${file}: Deployment/${d.metadata.name}`;
    const spec = d.spec ?? {};
    if (spec.replicas !== 1) fail(w, 'replicas must be 1 (one writer of the state volume)');
    if (spec.strategy?.type !== 'Recreate') fail(w, 'strategy.type must be Recreate');
    const pod = spec.template?.spec ?? {};
    const podLabels = spec.template?.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(spec.selector?.matchLabels ?? {}))
      if (podLabels[k] !== v) fail(w, `selector ${k}=${v} does not match the pod labels`);
    const c = (pod.containers ?? [])[0];
    if (!c) { fail(w, 'no container'); continue; }
    const cw = `${w} container ${c.name}`;
    if (!c.image) fail(cw, 'no image');
    const probe = (p, want) => {
      const pr = c[p];
      if (!pr?.httpGet) return fail(cw, `${p} must be an httpGet probe`);
      if (pr.httpGet.path !== want) fail(cw, `${p} path must be ${want}, is ${pr.httpGet.path}`);
      const port = pr.httpGet.port;
      const ok = (c.ports ?? []).some((cp) => cp.name === port || cp.containerPort === port);
      if (!ok) fail(cw, `${p} port ${port} is not a container port`);
    };
    probe('startupProbe', '/healthz');
    probe('livenessProbe', '/healthz');
    probe('readinessProbe', '/readyz');
    for (const r of ['cpu', 'memory']) {
      if (!c.resources?.requests?.[r]) fail(cw, `resources.requests.${r} missing`);
      if (!c.resources?.limits?.[r]) fail(cw, `resources.limits.${r} missing`);
    }
    const sc = { ...(pod.securityContext ?? {}), ...(c.securityContext ?? {}) };
    if (sc.runAsNonRoot !== true) fail(cw, 'runAsNonRoot must be true');
    if (sc.runAsUser !== 10001) fail(cw, 'runAsUser must be 10001 (the image user)');
    if (c.securityContext?.readOnlyRootFilesystem !== true) fail(cw, 'readOnlyRootFilesystem must be true');
    if (c.securityContext?.allowPrivilegeEscalation !== false) fail(cw, 'allowPrivilegeEscalation must be false');
    if (!(c.securityContext?.capabilities?.drop ?? []).includes('ALL')) fail(cw, 'capabilities.drop must include ALL');
    if ((sc.seccompProfile ?? {}).type !== 'RuntimeDefault') fail(cw, 'seccompProfile.type must be RuntimeDefault');
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));
    if (env.LOOPCAST_STATE_DIR?.value !== '/var/lib/loopcast') fail(cw, 'LOOPCAST_STATE_DIR must be /var/lib/loopcast');
    const ref = env.LOOPCAST_API_TOKEN?.valueFrom?.secretKeyRef;
    if (!ref) fail(cw, 'LOOPCAST_API_TOKEN must come from a secretKeyRef');
    else {
      const s = find('Secret', ref.name);
      if (!s) fail(cw, `LOOPCAST_API_TOKEN: no Secret "${ref.name}" among the manifests`);
      else if (!(ref.key in (s.stringData ?? {})) && !(ref.key in (s.data ?? {})))
        fail(cw, `LOOPCAST_API_TOKEN: Secret "${ref.name}" has no key "${ref.key}"`);
    }
    const vols = Object.fromEntries((pod.volumes ?? []).map((v) => [v.name, v]));
    const mounts = Object.fromEntries((c.volumeMounts ?? []).map((m) => [m.mountPath, m]));
    for (const m of c.volumeMounts ?? [])
      if (!vols[m.name]) fail(cw, `volumeMount ${m.mountPath} names no volume "${m.name}"`);
    const state = vols[mounts['/var/lib/loopcast']?.name];
    if (!state?.persistentVolumeClaim) fail(cw, '/var/lib/loopcast must be a PersistentVolumeClaim');
    else if (!find('PersistentVolumeClaim', state.persistentVolumeClaim.claimName))
      fail(cw, `no PersistentVolumeClaim "${state.persistentVolumeClaim.claimName}" among the manifests`);
    if (!vols[mounts['/tmp']?.name]?.emptyDir) fail(cw, '/tmp must be an emptyDir');

    for (const { file: sf, obj: svc } of objects.filter((o) => o.obj.kind === 'Service')) {
      const sw = `${sf}: Service/${svc.metadata.name}`;
      const sel = svc.spec?.selector ?? {};
      if (!Object.keys(sel).length) fail(sw, 'no selector');
      for (const [k, v] of Object.entries(sel))
        if (podLabels[k] !== v) fail(sw, `selector ${k}=${v} matches no pod label of ${w}`);
      for (const p of svc.spec?.ports ?? []) {
        const t = p.targetPort ?? p.port;
        if (!(c.ports ?? []).some((cp) => cp.name === t || cp.containerPort === t))
          fail(sw, `targetPort ${t} is not a port of ${cw}`);
      }
    }
  }
}

let count = 0;
for (const input of inputs) {
  for (const file of yamlFiles(input)) {
    for (const obj of loadDocs(file)) {
      count++;
      await checkObject(file, obj);
    }
  }
}
if (!count) fail('input', 'no YAML documents found');
if (policy) checkPolicy();

if (problems.length) {
  for (const p of problems) console.error(`k8s_validate: ${p}`);
  process.exit(1);
}
console.log(`k8s_validate: ${count} document(s), ${objects.length} object(s) valid${policy ? ', policy ok' : ''}`);
