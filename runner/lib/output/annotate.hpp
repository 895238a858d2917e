// The demo output: each input image with its top-1 label and confidence drawn on the ORIGINAL pixels, and a contact
// sheet (grid of labelled thumbnails). Text size follows the image size so the label is readable from a 64-pixel icon
// to a 4000-pixel photo.
#pragma once

#include <string>
#include <vector>

#include "zoo/status.hpp"

namespace zoo::runner {

struct AnnotatedItem {
    std::string image_path;  // the original image
    std::string caption;     // "tabby, tabby cat 87.4%"
};

// Writes `item.image_path` with the caption drawn in a banner at the top to `out_path` (format from its extension).
Status write_annotated_image(const AnnotatedItem& item, const std::string& out_path);

// A grid of thumbnails (cell x cell pixels, letterboxed) with their captions under them, at most `columns` wide.
Status write_contact_sheet(const std::vector<AnnotatedItem>& items, const std::string& out_path, int cell = 256, int columns = 6);

// The file name the annotated copy of `image_path` gets in the output folder ("chelsea.png" -> "chelsea.jpg";
// unreadable-by-JPEG formats are converted). Unique per index so that equal names from different folders do not clash.
std::string annotated_name(const std::string& image_path, size_t index);

}  // namespace zoo::runner
