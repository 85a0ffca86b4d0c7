//! How an artifact is previewed, decided by its name (and, for unknown names, by its bytes).

export type PreviewKind = 'text' | 'json' | 'yaml' | 'mlmodel' | 'csv' | 'tsv' | 'image' | 'binary' | 'sniff';

const TEXT = new Set(
  'txt log md markdown rst py pyi ipynb sh bash zsh ini cfg conf toml r sql js mjs ts tsx jsx java scala go rs c h cc cpp hpp html htm xml css jsonl ndjson env properties gitignore dockerignore tex diff patch'.split(
    ' ',
  ),
);
const BINARY = new Set(
  'pkl pickle joblib bin pt pth ckpt onnx h5 hdf5 keras tflite pb safetensors npy npz parquet feather arrow avro orc gz tgz zip tar bz2 xz zst 7z whl egg so dll dylib exe pdf mp3 wav flac ogg mp4 mov avi webm mkv ttf otf woff woff2 xgb lgb cbm db sqlite'.split(
    ' ',
  ),
);
const IMAGES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
  webp: 'image/webp',
  bmp: 'image/bmp',
  ico: 'image/x-icon',
  avif: 'image/avif',
};

export const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

export function extension(path: string): string {
  const name = baseName(path);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

export function previewKind(path: string): PreviewKind {
  const name = baseName(path);
  if (name === 'MLmodel') return 'mlmodel';
  const ext = extension(path);
  if (ext === 'json' || ext === 'ipynb') return 'json';
  if (ext === 'yaml' || ext === 'yml') return 'yaml';
  if (ext === 'csv') return 'csv';
  if (ext === 'tsv') return 'tsv';
  if (ext in IMAGES) return 'image';
  if (TEXT.has(ext)) return 'text';
  if (BINARY.has(ext)) return 'binary';
  return 'sniff';
}

/** The image MIME type by extension (the server sends some, e.g. webp, as octet-stream). */
export const imageType = (path: string) => IMAGES[extension(path)] ?? 'application/octet-stream';

/** Whether bytes look like text: no NUL byte in the first 8 KB. */
export function looksLikeText(bytes: Uint8Array): boolean {
  const end = Math.min(bytes.length, 8192);
  for (let i = 0; i < end; i++) if (bytes[i] === 0) return false;
  return true;
}

/** The label shown in the preview's header. */
export function kindLabel(kind: PreviewKind, path: string): string {
  switch (kind) {
    case 'mlmodel':
      return 'MLmodel (YAML)';
    case 'json':
      return 'JSON';
    case 'yaml':
      return 'YAML';
    case 'csv':
      return 'CSV';
    case 'tsv':
      return 'TSV';
    case 'image':
      return `${extension(path).toUpperCase()} image`;
    case 'binary':
      return 'Binary file';
    case 'text':
      return extension(path) ? `${extension(path).toUpperCase()} text` : 'Text';
    default:
      return extension(path) ? `${extension(path).toUpperCase()} file` : 'File';
  }
}
