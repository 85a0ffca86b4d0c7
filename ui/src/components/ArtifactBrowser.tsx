//! TEMPORARY scaffold: replaced by the artifact browser.
export interface ArtifactSource {
  kind: 'run' | 'loggedModel';
  /** The run ID or the logged model ID. */
  id: string;
}

export function ArtifactBrowser(props: { source: ArtifactSource; path?: string; hrefFor: (path: string) => string }) {
  return <p>{props.source.id}</p>;
}
