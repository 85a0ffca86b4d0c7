//! A summary of an MLmodel file above its text: flavors, the python_function loader and
//! environment files, the signature's inputs and outputs, and where the model came from.
import type { ComponentChildren } from 'preact';
import { readYaml, yamlGet, yamlText, type YamlMap, type YamlValue } from './yaml';

interface Column {
  name: string;
  type: string;
  required?: boolean;
}

export function MlmodelSummary({ text, dir, hrefFor }: { text: string; dir: string; hrefFor: (path: string) => string }) {
  const doc = readYaml(text);
  const flavors = yamlGet(doc, 'flavors');
  const flavorNames = flavors && typeof flavors === 'object' && !Array.isArray(flavors) ? Object.keys(flavors) : [];
  const pyfunc = yamlGet(doc, 'flavors', 'python_function');
  const env = yamlGet(pyfunc, 'env');
  const envFiles = typeof env === 'string' ? { env } : env && typeof env === 'object' && !Array.isArray(env) ? scalars(env) : {};
  const inputs = columns(yamlText(yamlGet(doc, 'signature', 'inputs')));
  const outputs = columns(yamlText(yamlGet(doc, 'signature', 'outputs')));
  const facts: [string, ComponentChildren][] = [];
  const fact = (label: string, value: YamlValue | undefined) => {
    const shown = yamlText(value);
    if (shown) facts.push([label, shown]);
  };
  fact('Loader module', yamlGet(pyfunc, 'loader_module'));
  fact('Python version', yamlGet(pyfunc, 'python_version'));
  for (const [kind, file] of Object.entries(envFiles)) {
    facts.push([`Environment (${kind})`, <a href={hrefFor(`${dir}${file}`)}>{file}</a>]);
  }
  fact('MLflow version', yamlGet(doc, 'mlflow_version'));
  fact('Model ID', yamlGet(doc, 'model_id'));
  fact('Run ID', yamlGet(doc, 'run_id'));
  fact('Created (UTC)', yamlGet(doc, 'utc_time_created'));
  if (flavorNames.length === 0 && facts.length === 0) return null;
  return (
    <div class="mlmodel card" aria-label="Model summary">
      <div class="mlmodel-flavors">
        <span class="muted">Flavors</span>
        {flavorNames.length ? flavorNames.map((f) => <span class="badge flavor" key={f}>{f}</span>) : <span class="muted">none</span>}
      </div>
      {facts.length > 0 && (
        <table class="kv mlmodel-facts">
          <tbody>
            {facts.map(([label, value]) => (
              <tr key={label}>
                <td>{label}</td>
                <td>{value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {(inputs || outputs) && (
        <div class="mlmodel-signature">
          <SignatureTable title="Inputs" columns={inputs} />
          <SignatureTable title="Outputs" columns={outputs} />
        </div>
      )}
      {!inputs && !outputs && <p class="muted">No signature: log the model with an input example or `signature=` to record one.</p>}
    </div>
  );
}

function SignatureTable({ title, columns }: { title: string; columns?: Column[] }) {
  return (
    <div>
      <h3>{title}</h3>
      {columns ? (
        <table class="grid">
          <thead>
            <tr>
              <th>Name</th>
              <th>Type</th>
              <th>Required</th>
            </tr>
          </thead>
          <tbody>
            {columns.map((c, i) => (
              <tr key={i}>
                <td class="mono">{c.name}</td>
                <td class="mono">{c.type}</td>
                <td>{c.required === false ? 'no' : 'yes'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">Not recorded.</p>
      )}
    </div>
  );
}

function scalars(map: YamlMap): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(map)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** A signature's JSON column list (`[{"type": "double", "name": "x"}]`), tensors included. */
function columns(json: string | undefined): Column[] | undefined {
  if (!json) return undefined;
  try {
    const list = JSON.parse(json) as unknown;
    if (!Array.isArray(list)) return undefined;
    return list.map((raw, i) => {
      const col = raw as { name?: string; type?: string; required?: boolean; 'tensor-spec'?: { dtype?: string; shape?: unknown } };
      const spec = col['tensor-spec'];
      const type = spec ? `tensor ${spec.dtype ?? ''} ${JSON.stringify(spec.shape ?? [])}` : (col.type ?? '');
      return { name: col.name ?? `#${i + 1}`, type, required: col.required };
    });
  } catch {
    return undefined;
  }
}
