//! TEMPORARY scaffold: replaced by the page's real implementation.
import { useTitle } from '../lib/title';

export default function Page() {
  useTitle('modelVersion');
  return <h1>modelVersion</h1>;
}
