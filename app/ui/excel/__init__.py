"""File → 导出 Excel… and 导入 Excel…."""
