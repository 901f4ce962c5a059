// The page's elements a view works with, found once: `elements({ badge: '#job-badge' })` is
// `{ badge: <the element> }`. A selector that matches nothing is a page/script mismatch: it
// throws at start rather than failing later on the first use.
export function elements(selectors) {
  return Object.fromEntries(
    Object.entries(selectors).map(([name, selector]) => {
      const element = document.querySelector(selector);
      if (!element) throw new Error(`Expected the page to have ${selector}`);
      return [name, element];
    }),
  );
}

// `children`, or when there are none one placeholder element: a `tag` with `text` and `props`
// (e.g. { value: '' } for an <option>, { className: 'empty' } for an <li>).
export function orPlaceholder(children, tag, text, props = {}) {
  if (children.length > 0) return children;
  const placeholder = Object.assign(document.createElement(tag), props);
  placeholder.textContent = text;
  return [placeholder];
}
