#include "output/annotate.hpp"

#include <algorithm>
#include <boost/filesystem.hpp>
#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace zoo::runner {

namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

cv::Mat read_bgr(const std::string& path) {
    cv::Mat img = cv::imread(path, cv::IMREAD_COLOR);  // 8-bit BGR; grayscale/alpha converted
    return img;
}

// Largest font scale whose text fits `max_width`, but no larger than `wanted`.
double fit_scale(const std::string& text, double wanted, int thickness, int max_width) {
    int baseline = 0;
    cv::Size s = cv::getTextSize(text, kFont, wanted, thickness, &baseline);
    if (s.width <= max_width || s.width == 0) return wanted;
    return wanted * static_cast<double>(max_width) / static_cast<double>(s.width);
}

// A dark banner across the top of `img` (height proportional to the text) with the caption in white.
void draw_banner(cv::Mat& img, const std::string& text, double wanted_scale) {
    const int thickness = std::max(1, static_cast<int>(std::lround(wanted_scale * 2)));
    const int margin = std::max(3, static_cast<int>(std::lround(wanted_scale * 10)));
    const double scale = fit_scale(text, wanted_scale, thickness, img.cols - 2 * margin);
    int baseline = 0;
    cv::Size ts = cv::getTextSize(text, kFont, scale, thickness, &baseline);
    const int banner_h = std::min(img.rows, ts.height + baseline + 2 * margin);
    cv::Mat roi = img(cv::Rect(0, 0, img.cols, banner_h));
    cv::Mat dark(roi.size(), roi.type(), cv::Scalar(0, 0, 0));
    cv::addWeighted(roi, 0.35, dark, 0.65, 0, roi);  // translucent: the image stays visible under the banner
    cv::rectangle(img, cv::Rect(0, 0, img.cols, banner_h), cv::Scalar(0, 200, 255), std::max(1, thickness / 2));
    cv::putText(img, text, cv::Point(margin, margin + ts.height), kFont, scale, cv::Scalar(255, 255, 255), thickness, cv::LINE_AA);
}

}  // namespace

std::string annotated_name(const std::string& image_path, size_t index) {
    char prefix[16];
    std::snprintf(prefix, sizeof prefix, "%03zu_", index);
    return prefix + boost::filesystem::path(image_path).stem().string() + ".jpg";
}

Status write_annotated_image(const AnnotatedItem& item, const std::string& out_path) {
    cv::Mat img = read_bgr(item.image_path);
    if (img.empty()) return Status::error(item.image_path + ": cannot decode the image to annotate it");
    // Text height ~ 5% of the shorter side, never below a readable minimum.
    const double wanted = std::max(0.5, std::min(img.cols, img.rows) / 450.0);
    draw_banner(img, item.caption, wanted);
    try {
        if (!cv::imwrite(out_path, img)) return Status::error(out_path + ": cannot write the annotated image");
    } catch (const cv::Exception& e) {
        return Status::error(out_path + ": " + e.what());
    }
    return Status::ok();
}

Status write_contact_sheet(const std::vector<AnnotatedItem>& items, const std::string& out_path, int cell, int columns) {
    if (items.empty()) return Status::error("contact sheet: no images");
    const int cols = std::max(1, std::min<int>(columns, static_cast<int>(items.size())));
    const int rows = static_cast<int>((items.size() + static_cast<size_t>(cols) - 1) / static_cast<size_t>(cols));
    const int caption_h = cell / 6;
    const int pad = 6;
    const int cw = cell + pad, ch = cell + caption_h + pad;
    cv::Mat sheet(rows * ch + pad, cols * cw + pad, CV_8UC3, cv::Scalar(40, 40, 40));
    for (size_t i = 0; i < items.size(); ++i) {
        const int x0 = pad + static_cast<int>(i % static_cast<size_t>(cols)) * cw;
        const int y0 = pad + static_cast<int>(i / static_cast<size_t>(cols)) * ch;
        cv::Mat img = read_bgr(items[i].image_path);
        if (img.empty()) return Status::error(items[i].image_path + ": cannot decode the image for the contact sheet");
        const double f = std::min(static_cast<double>(cell) / img.cols, static_cast<double>(cell) / img.rows);
        cv::Mat thumb;
        cv::resize(img, thumb, cv::Size(std::max(1, static_cast<int>(img.cols * f)), std::max(1, static_cast<int>(img.rows * f))), 0, 0,
                   f < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
        thumb.copyTo(sheet(cv::Rect(x0 + (cell - thumb.cols) / 2, y0 + (cell - thumb.rows) / 2, thumb.cols, thumb.rows)));
        const double scale = fit_scale(items[i].caption, cell / 520.0, 1, cell - 4);
        int baseline = 0;
        cv::Size ts = cv::getTextSize(items[i].caption, kFont, scale, 1, &baseline);
        cv::putText(sheet, items[i].caption, cv::Point(x0 + 2, y0 + cell + (caption_h + ts.height) / 2), kFont, scale,
                    cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
    }
    try {
        if (!cv::imwrite(out_path, sheet)) return Status::error(out_path + ": cannot write the contact sheet");
    } catch (const cv::Exception& e) {
        return Status::error(out_path + ": " + e.what());
    }
    return Status::ok();
}

}  // namespace zoo::runner
