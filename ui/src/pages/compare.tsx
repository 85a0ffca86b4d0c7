//! TEMPORARY scaffold: replaced by the page's real implementation.
import { useTitle } from '../lib/title';

export default function Page() {
  useTitle('compare');
  return <h1>compare</h1>;
}
