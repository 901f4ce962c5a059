// What a stored item looks like in a list: its thumbnail when the server keeps one, else an
// icon of its modality (style.css draws .modality-icon).
export function itemPicture(item, { className = '', lazy = false } = {}) {
  if (item.media) {
    const img = document.createElement('img');
    if (className) img.className = className;
    img.src = item.media;
    img.alt = '';
    if (lazy) img.loading = 'lazy';
    return img;
  }
  const icon = document.createElement('span');
  icon.className = `modality-icon modality-${item.modality}`;
  icon.setAttribute('aria-hidden', 'true');
  return icon;
}
