"""Spider contracts that work for every site of a family: `@path article` requests the site's own
example page (its `contract_paths`), so one docstring on the family serves all its sites."""

from scrapy.contracts import Contract


class PathContract(Contract):
    """@path <key>: request base_url + spider.contract_paths[key]."""

    name = "path"

    def __init__(self, method, *args):
        super().__init__(method, *args)
        self.spider = method.__self__

    def adjust_request_args(self, args):
        spider = self.spider
        args["url"] = spider.site_url(spider.contract_paths[self.args[0]])
        return args
